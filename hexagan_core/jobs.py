"""Background jobs for the dashboard: training runs, missing-rate studies and loading a trained
model, in daemon threads.

One `JobManager` per process (the dashboard keeps it in `st.cache_resource`). Each job runs in its
own daemon thread and reports into a lock-protected record; the UI polls `snapshot(job_id)`, which
returns an immutable copy taken under that lock, from its own thread. Nothing here touches
Streamlit.

- Job ids (uuid4 hex) are the only capability: there is no method that lists jobs, so one user
  never sees another's (the UI keeps its own ids in session state or the URL).
- Jobs on an accelerator (CUDA or Apple MPS) take a slot first: with one slot, a second GPU job
  waits in "queued", in arrival order, until the first ends; CPU jobs never wait. The slots are
  shared by every manager in the process unless a manager is given its own (`gpu_slots=`).
- Each job has one `RunControl`. `stop` stops it (training ends within one iteration; a study
  between runs; a queued job leaves the queue) and the job ends "stopped", with its partial
  result when there is one. `pause` pauses it (training waits inside its loop; a study between
  runs) until `resume`, for at most `max_pause_s` (PAUSE_EXPIRY_S): then it stops, with a note,
  and can be forgotten like any ended job. All three are no-ops on a finished job.
- A loading job (`start_loading`) runs a function that returns a finished `RunResult` (the
  shipped MNIST model, say) and ends "finished" with it, so the pages that show a trained model
  show it as they show a training job's; `wait` blocks until a job ends (a load takes seconds).
- A training job keeps the notes its run gives before training (what reading the data changed,
  the device, costs, warnings, the estimated duration) in `JobSnapshot.notes`.
- On Linux a job's thread runs JOB_NICENESS below the process's priority, so that on a laptop
  the dashboard and the browser stay responsive while it trains; it still gets every idle cycle.
- Any exception in a job ends it "failed" with a one-line `error` ("ValueError: ..."); the
  traceback goes to this module's logger, never to stdout.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from hexagan_core import experiment, study
from hexagan_core.control import RunControl
from hexagan_core.device import out_of_memory_message, resolve_device
from hexagan_core.validation import Interval, check_param

__all__ = ["GpuSlots", "JobManager", "JobSnapshot", "JobStatus"]

logger = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "paused", "stopping", "finished", "stopped", "failed"]
DONE_STATUSES: frozenset[str] = frozenset({"finished", "stopped", "failed"})

_POLL_S = 0.05  # how often a queued job re-checks whether it was stopped
PAUSE_EXPIRY_S = 30 * 60.0
"""How long a job may stay paused before it stops. A paused job whose tab was closed would
otherwise hold its thread, data and model for as long as the dashboard runs: stopped, it ends
"stopped" with its partial result and is forgotten beyond `max_finished` like any ended job."""
JOB_NICENESS = 10
"""How far below the dashboard a job's thread runs (Linux): on a 2-core laptop, training
must not make page switches and the browser wait."""


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent, read-only view of one job at one moment."""

    job_id: str
    kind: str
    """'train', 'study' or 'load'."""
    status: str
    """One of JobStatus."""
    device: str
    """'cpu', 'cuda', 'cuda:N' or 'mps': where the job runs (the request, until resolved)."""
    iteration: int
    """Progress: training iterations done, or finished runs of a study."""
    total: int
    """Progress at the end: the configured iterations, or the study's run count (0: unknown)."""
    iterations_per_second: float | None
    eta_seconds: float | None
    elapsed_seconds: float
    """Seconds since the job left the queue (frozen when it ends; 0 while queued)."""
    history: tuple[dict, ...]
    """Training: the train.fit callback reports so far (the last `max_history`); study: one row
    per finished (rate, seed, method) run. Shared between snapshots: treat as read-only."""
    error: str | None
    """One line when failed, else None."""
    result: Any | None
    """experiment.RunResult (train, load) or study.StudyResult (study) once finished, or stopped
    with a usable result; None otherwise."""
    notes: tuple[str, ...] = ()
    """What the run said before training (training jobs), then why the job stopped if a pause
    expired."""

    @property
    def done(self) -> bool:
        """Whether the job has ended (finished, stopped or failed)."""
        return self.status in DONE_STATUSES


class GpuSlots:
    """At most `slots` holders at a time; waiters are served in arrival order (FIFO)."""

    def __init__(self, slots: int = 1) -> None:
        check_param(slots, "slots", "GpuSlots", Interval("int", 1))
        self._slots = slots
        self._in_use = 0
        self._waiting: deque[object] = deque()
        self._condition = threading.Condition()

    def acquire(self, ticket: object, control: RunControl) -> bool:
        """Wait for a slot; False (and no slot) if `control` is stopped first."""
        with self._condition:
            self._waiting.append(ticket)
            try:
                while self._waiting[0] is not ticket or self._in_use >= self._slots:
                    if control.stopped:
                        return False
                    self._condition.wait(timeout=_POLL_S)
                self._in_use += 1
                return True
            finally:
                self._waiting.remove(ticket)
                self._condition.notify_all()

    def release(self) -> None:
        with self._condition:
            self._in_use -= 1
            self._condition.notify_all()


_PROCESS_GPU_SLOTS = GpuSlots(1)
"""The slots shared by every JobManager made without its own `gpu_slots`."""


@dataclass(eq=False)
class _Job:
    """A job's mutable record; every field after `lock` is read and written under `lock`."""

    job_id: str
    kind: str
    device: str
    history: deque
    lock: threading.Lock = field(default_factory=threading.Lock)
    control: RunControl = field(default_factory=RunControl)
    state: str = "queued"  # queued, running, finished, stopped, failed
    iteration: int = 0
    total: int = 0
    rate_points: tuple[tuple[float, float], ...] = ()  # last two (progress, seconds) reports
    started: float | None = None
    ended: float | None = None
    error: str | None = None
    result: Any | None = None
    notes: list[str] = field(default_factory=list)
    ended_event: threading.Event = field(default_factory=threading.Event)
    """Set once the job has ended (`JobManager.wait`)."""


class JobManager:
    """Runs training jobs and studies in background threads; thread-safe.

    Parameters
    ----------
    max_history : int, default=10_000
        Reports (or study rows) kept per job; the oldest are dropped beyond it.
    max_finished : int, default=32
        Ended jobs kept (with their results); beyond it the longest-ended are forgotten.
    gpu_slots : int, default=None
        GPU jobs that may run at once. None shares the process-wide single slot with every other
        manager (what the dashboard wants); an int gives this manager slots of its own (tests).
    resolve_device : callable, default=None
        Maps the requested device ('auto', 'cpu', ...) to the one the job runs on, as a string.
        Default: `device.resolve_device`. A test can force 'cuda' to exercise the GPU queue on a
        CPU-only machine; the job itself still runs on the device its options ask for.
    max_pause_s : float, default=PAUSE_EXPIRY_S
        Seconds a job may stay paused; then it stops.
    """

    def __init__(
        self,
        max_history: int = 10_000,
        *,
        max_finished: int = 32,
        gpu_slots: int | None = None,
        resolve_device: Callable[[str], str] | None = None,
        max_pause_s: float = PAUSE_EXPIRY_S,
    ) -> None:
        for name, value in (("max_history", max_history), ("max_finished", max_finished)):
            check_param(value, name, "JobManager", Interval("int", 1))
        positive = Interval("float", 0, closed="neither")
        check_param(max_pause_s, "max_pause_s", "JobManager", positive)
        self.max_pause_s = max_pause_s
        self.max_history, self.max_finished = max_history, max_finished
        self._slots = _PROCESS_GPU_SLOTS if gpu_slots is None else GpuSlots(gpu_slots)
        self._resolve = resolve_device or _default_resolve
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    # --- starting jobs ----------------------------------------------------------------------

    def start_training(self, options: experiment.RunOptions) -> str:
        """Start `experiment.run_experiment(options)` in the background; return the job id.

        Bad options never raise here: the job ends "failed" with the one-line message.
        """
        options = copy.deepcopy(options)  # the caller may reuse and change its object

        def run(job: _Job) -> experiment.RunResult:
            return experiment.run_experiment(
                options,
                callback=lambda report: self._on_report(job, report),
                control=job.control,
                on_note=lambda text: self._on_note(job, text),
            )

        return self._start("train", options.device, lambda: _training_total(options), run)

    def start_study(self, options: study.StudyOptions) -> str:
        """Start `study.run_study(options)` in the background; return the job id."""
        options = copy.deepcopy(options)

        def run(job: _Job) -> study.StudyResult:
            return study.run_study(
                options,
                callback=lambda row: self._on_row(job, row),
                control=job.control,
            )

        return self._start("study", options.device, lambda: study.study_total_runs(options), run)

    def start_loading(
        self, load: Callable[[], experiment.RunResult], device: str = "cpu"
    ) -> str:
        """Run `load()` in the background (a trained model read from disk, not trained); return
        the job id. The job ends "finished" with what `load` returns, or "failed" with the
        one-line message of what it raised. `device`: the job's device, where `load` puts the
        model (recorded only: a load never queues for the GPU)."""

        def run(job: _Job) -> experiment.RunResult:
            return load()

        return self._start("load", device, lambda: 0, run)

    def _start(
        self,
        kind: str,
        device: str,
        total: Callable[[], int],
        run: Callable[[_Job], Any],
    ) -> str:
        job = _Job(
            job_id=uuid.uuid4().hex,
            kind=kind,
            device=str(device),
            history=deque(maxlen=self.max_history),
            control=RunControl(max_pause_s=self.max_pause_s),
        )
        with self._lock:
            self._jobs[job.job_id] = job
        thread = threading.Thread(
            target=self._work,
            args=(job, total, run),
            name=f"hexagan-{kind}-{job.job_id[:8]}",
            daemon=True,
        )
        thread.start()
        return job.job_id

    # --- control ----------------------------------------------------------------------------

    def snapshot(self, job_id: str) -> JobSnapshot:
        """The job's state now; KeyError for an unknown (or forgotten) id."""
        job = self._job(job_id)
        with job.lock:
            now = time.monotonic()
            ips, eta = _speed(job, now)
            started = job.started
            elapsed = 0.0 if started is None else (job.ended or now) - started
            return JobSnapshot(
                job_id=job.job_id,
                kind=job.kind,
                status=_status(job),
                device=job.device,
                iteration=job.iteration,
                total=job.total,
                iterations_per_second=ips,
                eta_seconds=eta,
                elapsed_seconds=elapsed,
                history=tuple(job.history),
                error=job.error,
                result=job.result,
                notes=tuple(job.notes),
            )

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """The job's snapshot once it has ended, or after `timeout` seconds if sooner (check
        `.done`); KeyError for an unknown id."""
        job = self._job(job_id)
        job.ended_event.wait(timeout)
        return self.snapshot(job_id)

    def pause(self, job_id: str) -> None:
        """Hold the job (status "paused" while it runs); no-op once it has ended."""
        self._steer(job_id, RunControl.pause)

    def resume(self, job_id: str) -> None:
        """Let a paused job go on; no-op once it has ended."""
        self._steer(job_id, RunControl.resume)

    def stop(self, job_id: str) -> None:
        """Ask the job to end early (status "stopping", then "stopped"); no-op once ended."""
        self._steer(job_id, RunControl.stop)

    def _steer(self, job_id: str, request: Callable[[RunControl], None]) -> None:
        """Make `request` of a job that has not ended (KeyError for an unknown id)."""
        job = self._job(job_id)
        with job.lock:
            if job.state not in DONE_STATUSES:
                request(job.control)

    def forget(self, job_id: str) -> None:
        """Drop the job and its result to free memory; its id becomes unknown.

        A job still running is stopped; its thread holds the last reference to the record and
        its result, which go when it ends. Unknown ids are ignored.
        """
        with self._lock:
            job = self._jobs.pop(job_id, None)
            if job is None:
                return
            with job.lock:
                if job.state not in DONE_STATUSES:
                    job.control.stop()  # which also ends a pause
                job.result = None
                job.history.clear()

    def _job(self, job_id: str) -> _Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(f"unknown job {job_id!r}")
        return job

    # --- the worker thread ------------------------------------------------------------------

    def _work(self, job: _Job, total: Callable[[], int], run: Callable[[_Job], Any]) -> None:
        _yield_cpu_to_dashboard()
        try:
            device = self._resolve(job.device)
            n_total = total()
            with job.lock:
                job.device, job.total = device, n_total
            accelerator = job.kind != "load" and _is_accelerator(device)
            if accelerator and not self._slots.acquire(job, job.control):
                self._end(job, "stopped", None)  # stopped while queued: nothing ran
                return
            try:
                with job.lock:
                    job.state, job.started = "running", time.monotonic()
                result = run(job)
            finally:
                if accelerator:
                    try:
                        _free_accelerator_memory(device)
                    finally:
                        self._slots.release()  # never leave the GPU queue blocked
            if job.control.pause_expired:
                self._on_note(job, f"paused for more than {self.max_pause_s:g} s: stopped")
            self._end(job, "stopped" if job.control.stopped else "finished", result)
        except Exception as exc:  # every failure must reach the UI, as one line
            logger.exception("job %s (%s) failed", job.job_id, job.kind)
            self._end(job, "failed", None, error=_one_line(exc))

    def _end(self, job: _Job, state: str, result: Any, error: str | None = None) -> None:
        with job.lock:
            job.state, job.error, job.result = state, error, result
            job.ended = time.monotonic()
        job.ended_event.set()
        self._evict_finished()

    def _evict_finished(self) -> None:
        """Forget the longest-ended jobs beyond `max_finished`: a dashboard that runs for days
        (a classroom's) must not keep every model and dataset it ever trained."""
        with self._lock:
            ended = [j for j in self._jobs.values() if j.ended is not None]
        ended.sort(key=lambda j: j.ended)
        for job in ended[: max(0, len(ended) - self.max_finished)]:
            self.forget(job.job_id)

    def _on_report(self, job: _Job, report: dict[str, Any]) -> None:
        """train.fit's callback: keep a copy of the report, update the progress."""
        record = copy.deepcopy(report)
        with job.lock:
            job.history.append(record)
            job.iteration = int(record["iteration"])
            point = (float(record["iteration"]), float(record["seconds"]))
            # Several imputation models report each iteration: the rate needs two iterations.
            if not job.rate_points or point[0] > job.rate_points[-1][0]:
                job.rate_points = (*job.rate_points[-1:], point)

    def _on_note(self, job: _Job, text: str) -> None:
        with job.lock:
            job.notes.append(text)

    def _on_row(self, job: _Job, row: dict[str, Any]) -> None:
        """run_study's callback: keep the row, count the run."""
        with job.lock:
            job.history.append(dict(row))
            job.iteration += 1


def _yield_cpu_to_dashboard() -> None:
    """Lower this thread's scheduling priority by JOB_NICENESS (Linux; elsewhere nothing).

    Linux schedules each thread on its own, so this leaves the server, the page scripts and a
    browser on the same machine their full share of the cores; training still gets every cycle
    they leave idle. Threads this one starts (torch's, the compiler's) inherit the priority.
    """
    if not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + JOB_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(niceness, 19))
    except OSError:  # a sandbox may forbid it; training then simply keeps its priority
        logger.debug("could not lower the priority of job thread %s", thread)


def _training_total(options: experiment.RunOptions) -> int:
    """The iterations `run_experiment(options)` will train for (raises ValueError if bad)."""
    return experiment.training_config(options)[1].iterations


def _default_resolve(device: str) -> str:
    return str(resolve_device(device))


def _is_accelerator(device: str) -> bool:
    return device.startswith("cuda") or device == "mps"


def _free_accelerator_memory(device: str) -> None:
    """Hand cached GPU memory back when a GPU job ends, so the next one starts clean."""
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device == "mps" and torch.backends.mps.is_available():
        torch.mps.empty_cache()


def _status(job: _Job) -> str:
    """The public status: the record's state, refined by the stop and pause requests."""
    if job.state in DONE_STATUSES:
        return job.state
    if job.control.stopped:
        return "stopping"
    if job.state == "running" and job.control.paused:
        return "paused"
    return job.state


def _speed(job: _Job, now: float) -> tuple[float | None, float | None]:
    """(progress per second, seconds left).

    Training: from the last two reports' iteration and seconds (one report: from the start).
    Study: the average rate since the job started, since runs of different methods differ in
    length by orders of magnitude.
    """
    if job.state in DONE_STATUSES or job.started is None:
        return None, None
    if job.kind == "train":
        points = job.rate_points
        if not points:
            return None, None
        (it0, s0), (it1, s1) = points if len(points) == 2 else ((0.0, 0.0), points[0])
        ips = (it1 - it0) / (s1 - s0) if s1 > s0 and it1 > it0 else None
    else:
        elapsed = now - job.started
        ips = job.iteration / elapsed if job.iteration and elapsed > 0 else None
    if ips is None or not job.total:
        return ips, None
    return ips, max(job.total - job.iteration, 0) / ips


def _one_line(exc: BaseException) -> str:
    """'ValueError: message' on one line; for running out of memory, the size asked for and
    what to try."""
    out_of_memory = out_of_memory_message(exc)
    if out_of_memory is not None:
        return out_of_memory
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
