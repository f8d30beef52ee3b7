"""Background jobs: progress, stop, pause, failures, the GPU queue and isolation between ids."""

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from hexagan_core import jobs
from hexagan_core.config import preset
from hexagan_core.control import RunControl
from hexagan_core.experiment import RunOptions, RunResult
from hexagan_core.jobs import GpuSlots, JobManager
from hexagan_core.study import StudyOptions, StudyResult


def _options(iterations, **kwargs):
    kwargs.setdefault("device", "cpu")
    return RunOptions(
        data="breast", iterations=iterations, config=preset("default", eval_every=10), **kwargs
    )


def _wait(manager, job_id, until, timeout=60.0):
    """Poll the job's snapshot until `until(snapshot)` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = manager.snapshot(job_id)
        if until(snap):
            return snap
        time.sleep(0.02)
    raise AssertionError(f"timed out; last snapshot: {manager.snapshot(job_id)}")


def _done(snap):
    return snap.done


@pytest.fixture
def manager():
    return JobManager(gpu_slots=1)


def test_training_job_finishes_with_history_and_result(manager):
    job_id = manager.start_training(_options(40))
    assert len(job_id) == 32 and int(job_id, 16) >= 0  # uuid4 hex
    snap = _wait(manager, job_id, _done)
    assert snap.status == "finished" and snap.error is None
    assert (snap.kind, snap.device, snap.iteration, snap.total) == ("train", "cpu", 40, 40)
    assert [r["iteration"] for r in snap.history] == [10, 20, 30, 40]
    assert all("val_rmse" in r and "losses" in r for r in snap.history)
    assert isinstance(snap.result, RunResult)
    assert snap.result.report["iterations"] == 40
    # The history holds copies: the model's own records are separate objects. (Which report's C
    # was kept is known only once training ends: the model's record alone is marked.)
    record = snap.result.model.history[-1]
    assert snap.history[-1] == {k: v for k, v in record.items() if k != "best_classifier"}
    assert snap.history[-1] is not snap.result.model.history[-1]
    assert snap.elapsed_seconds > 0 and snap.eta_seconds is None


def test_snapshots_while_running_are_consistent(manager):
    job_id = manager.start_training(_options(3000))
    seen = []
    snap = _wait(manager, job_id, lambda s: s.iteration >= 30)
    for _ in range(20):
        snap = manager.snapshot(job_id)
        seen.append(snap)
        time.sleep(0.01)
    manager.stop(job_id)
    _wait(manager, job_id, _done)
    for snap in seen:
        assert snap.status in ("running", "stopping", "stopped")
        assert snap.iteration == snap.history[-1]["iteration"] == 10 * len(snap.history)
        if not snap.done:
            last, before = snap.history[-1], snap.history[-2]
            rate = (last["iteration"] - before["iteration"]) / (last["seconds"] - before["seconds"])
            assert snap.iterations_per_second == pytest.approx(rate)
            assert snap.eta_seconds == pytest.approx((3000 - snap.iteration) / rate)
    assert seen[-1].elapsed_seconds >= seen[0].elapsed_seconds


def test_several_imputation_models_report_a_rate_of_iterations(manager):
    options = _options(3000)
    options.config = options.config.replace(n_imputations=2)
    job_id = manager.start_training(options)
    snap = _wait(manager, job_id, lambda s: len({r["iteration"] for r in s.history}) >= 3)
    manager.stop(job_id)
    assert snap.status == "running" and {r["imputation"] for r in snap.history} == {0, 1}
    # two reports per iteration: the rate is taken across iterations, not between the two
    assert snap.iterations_per_second > 0 and snap.eta_seconds > 0
    _wait(manager, job_id, _done)


def test_stop_ends_training_early_without_baselines(manager):
    job_id = manager.start_training(_options(5000, baselines=["mice"]))
    _wait(manager, job_id, lambda s: s.iteration >= 20)
    manager.stop(job_id)
    at_stop = manager.snapshot(job_id)
    assert at_stop.status in ("stopping", "stopped")
    snap = _wait(manager, job_id, _done, timeout=10)
    assert snap.status == "stopped" and snap.error is None
    assert 20 <= snap.iteration < 5000
    result = snap.result
    assert isinstance(result, RunResult)
    # run_experiment stopped within one iteration and skipped the baselines.
    assert result.report["iterations"] <= at_stop.iteration + 10
    assert list(result.report["results"]) == ["hexagan"]
    assert "stopped early: baselines skipped" in result.report["notes"]
    manager.stop(job_id)  # no-op once ended
    assert manager.snapshot(job_id).status == "stopped"


def test_pause_holds_the_iteration_count_then_resume_finishes(manager):
    job_id = manager.start_training(_options(150))
    _wait(manager, job_id, lambda s: s.iteration >= 20)
    manager.pause(job_id)
    time.sleep(0.2)  # let the iteration in flight report
    first = manager.snapshot(job_id)
    time.sleep(0.5)
    second = manager.snapshot(job_id)
    assert first.status == second.status == "paused"
    assert first.iteration == second.iteration < 150
    manager.resume(job_id)
    assert manager.snapshot(job_id).status in ("running", "finished")
    snap = _wait(manager, job_id, _done)
    assert (snap.status, snap.iteration) == ("finished", 150)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority: Linux")
def test_jobs_run_below_the_dashboards_priority(manager, monkeypatch):
    seen = {}

    def run_experiment(options, **_):
        seen["job"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return None

    monkeypatch.setattr(jobs.experiment, "run_experiment", run_experiment)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert _wait(manager, manager.start_training(_options(20)), _done).status == "finished"
    assert seen["job"] == min(mine + jobs.JOB_NICENESS, 19)
    # Only the job's own thread is lowered: this one (the dashboard's, here) keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


def test_a_failing_job_reports_one_line():
    manager = JobManager(gpu_slots=1)
    job_id = manager.start_training(RunOptions(data="/no/such/file.csv", device="cpu"))
    snap = _wait(manager, job_id, _done)
    assert snap.status == "failed" and snap.result is None
    assert snap.error.startswith("ValueError: '/no/such/file.csv' is neither a built-in")
    assert "\n" not in snap.error and "Traceback" not in snap.error


def test_a_job_out_of_memory_says_how_much_it_asked_for(monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has "
                                     "a total capacity of 79.11 GiB of which 1.06 GiB is free.")

    monkeypatch.setattr(jobs.experiment, "run_experiment", out_of_memory)
    manager = JobManager(gpu_slots=1)
    snap = _wait(manager, manager.start_training(_options(20)), _done)
    assert snap.status == "failed"
    assert snap.error.startswith("out of memory on the GPU (CUDA): an allocation of 2.00 GiB ")


def test_a_loading_job_ends_finished_with_what_it_loaded(manager):
    loaded = RunResult(experiment=None, model=None, report={"shipped_model": "somewhere"})
    job_id = manager.start_loading(lambda: loaded)
    snap = manager.wait(job_id, timeout=30)
    assert (snap.kind, snap.status, snap.device) == ("load", "finished", "cpu")
    assert snap.result is loaded and snap.error is None
    assert (snap.iteration, snap.total, snap.history) == (0, 0, ())
    assert snap.iterations_per_second is None and snap.eta_seconds is None


def test_a_failing_load_reports_one_line(manager):
    def load():
        raise ValueError("/models/mnist is not a saved HexaGAN model:\n config.json is missing.")

    snap = manager.wait(manager.start_loading(load), timeout=30)
    assert snap.status == "failed" and snap.result is None
    assert snap.error == (
        "ValueError: /models/mnist is not a saved HexaGAN model: config.json is missing."
    )


def test_wait_returns_at_its_timeout_while_the_job_runs(manager):
    release = threading.Event()
    loaded = RunResult(experiment=None, model=None, report={})
    job_id = manager.start_loading(lambda: release.wait(30) and loaded)
    start = time.monotonic()
    snap = manager.wait(job_id, timeout=0.2)
    assert 0.2 <= time.monotonic() - start < 5.0
    assert snap.status == "running" and not snap.done
    release.set()
    assert manager.wait(job_id, timeout=30).result is loaded
    with pytest.raises(KeyError):
        manager.wait("0" * 32)


def test_a_load_never_waits_in_the_gpu_queue(monkeypatch):
    # A training job holds the one GPU slot; a load on the same device still runs at once.
    release = threading.Event()
    monkeypatch.setattr(jobs.experiment, "run_experiment", lambda options, **_: release.wait(30))
    manager = JobManager(gpu_slots=1, resolve_device=lambda d: "cuda")
    training = manager.start_training(_options(20, device="auto"))
    _wait(manager, training, lambda s: s.status == "running")
    loaded = RunResult(experiment=None, model=None, report={})
    snap = manager.wait(manager.start_loading(lambda: loaded, device="cuda"), timeout=10)
    assert snap.status == "finished" and snap.result is loaded
    assert manager.snapshot(training).status == "running"
    release.set()
    assert manager.wait(training, timeout=30).status == "finished"


def test_bad_study_options_fail_the_job_not_the_caller(manager):
    job_id = manager.start_study(StudyOptions(rates=(1.5,)))
    snap = _wait(manager, job_id, _done)
    assert snap.status == "failed"
    assert snap.error.startswith("ValueError: The 'rates' parameter of StudyOptions")


def test_second_gpu_job_waits_in_the_queue_until_the_first_ends():
    # 'auto' is treated as CUDA for queueing (the jobs themselves still run where 'auto' says).
    manager = JobManager(gpu_slots=1, resolve_device=lambda d: "cuda" if d == "auto" else "cpu")
    first = manager.start_training(_options(5000, device="auto"))
    _wait(manager, first, lambda s: s.status == "running" and s.iteration >= 10)
    second = manager.start_training(_options(20, device="auto"))
    cpu_job = manager.start_training(_options(20, device="cpu"))
    # The CPU job never waits; the second GPU job does.
    assert _wait(manager, cpu_job, _done).status == "finished"
    queued = manager.snapshot(second)
    assert (queued.status, queued.device, queued.iteration) == ("queued", "cuda", 0)
    assert queued.elapsed_seconds == 0.0 and queued.history == ()
    assert manager.snapshot(first).status == "running"
    manager.stop(first)
    assert _wait(manager, first, _done).status == "stopped"
    snap = _wait(manager, second, _done)
    assert (snap.status, snap.iteration) == ("finished", 20)


def test_stopping_a_queued_job_ends_it_without_running():
    manager = JobManager(gpu_slots=1, resolve_device=lambda d: "cuda")
    first = manager.start_training(_options(5000))
    _wait(manager, first, lambda s: s.status == "running")
    second = manager.start_training(_options(20))
    assert manager.snapshot(second).status == "queued"
    manager.stop(second)
    snap = _wait(manager, second, _done, timeout=5)
    assert (snap.status, snap.iteration, snap.result) == ("stopped", 0, None)
    assert manager.snapshot(first).status == "running"
    manager.stop(first)
    _wait(manager, first, _done)


def test_gpu_slots_serve_waiters_in_arrival_order():
    slots, control, order = GpuSlots(1), RunControl(), []
    assert slots.acquire("holder", control)

    def wait_for_slot(name):
        assert slots.acquire(name, control)
        order.append(name)
        slots.release()

    threads = []
    for name in ("a", "b", "c"):
        threads.append(threading.Thread(target=wait_for_slot, args=(name,)))
        threads[-1].start()
        time.sleep(0.1)  # arrive in this order
    assert order == []  # all wait while the holder has the only slot
    slots.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == ["a", "b", "c"]
    control.stop()
    assert slots.acquire("x", control)  # a free slot is taken even when stopped
    assert not slots.acquire("y", control)  # a full one is not waited for


def test_unknown_ids_raise_key_error(manager):
    for method in (manager.snapshot, manager.pause, manager.resume, manager.stop):
        with pytest.raises(KeyError, match="unknown job 'nope'"):
            method("nope")
    manager.forget("nope")  # forgetting an unknown id is a no-op


def test_jobs_do_not_leak_between_ids_or_managers():
    one, other = JobManager(gpu_slots=1), JobManager(gpu_slots=1)
    short, longer = one.start_training(_options(20)), one.start_training(_options(30))
    assert short != longer
    with pytest.raises(KeyError):
        other.snapshot(short)
    a, b = _wait(one, short, _done), _wait(one, longer, _done)
    assert [r["iteration"] for r in a.history] == [10, 20]
    assert [r["iteration"] for r in b.history] == [10, 20, 30]
    assert a.result is not b.result
    one.forget(short)
    with pytest.raises(KeyError):
        one.snapshot(short)
    assert one.snapshot(longer).status == "finished"


def test_study_job_counts_finished_runs(manager):
    options = StudyOptions(
        rates=(0.2, 0.4), seeds=(0,), methods=("mean", "knn"), max_rows=200, device="cpu"
    )
    job_id = manager.start_study(options)
    snap = _wait(manager, job_id, _done)
    assert (snap.kind, snap.status, snap.iteration, snap.total) == ("study", "finished", 4, 4)
    assert [(r["rate"], r["method"]) for r in snap.history] == [
        (0.2, "mean"),
        (0.2, "knn"),
        (0.4, "mean"),
        (0.4, "knn"),
    ]
    assert isinstance(snap.result, StudyResult) and len(snap.result.rows) == 4


def test_max_history_keeps_the_latest_reports():
    manager = JobManager(max_history=2, gpu_slots=1)
    snap = _wait(manager, manager.start_training(_options(40)), _done)
    assert [r["iteration"] for r in snap.history] == [30, 40]
    with pytest.raises(ValueError, match="'max_history' parameter of JobManager"):
        JobManager(max_history=0)


def test_only_the_latest_finished_jobs_are_kept():
    """Beyond max_finished, the longest-ended jobs are forgotten (their ids become unknown)."""
    manager = JobManager(max_finished=2, gpu_slots=1)
    ids = []
    for _ in range(3):
        ids.append(manager.start_training(RunOptions(data="/no/such/file.csv", device="cpu")))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until it has ended (or been evicted)
            try:
                if manager.snapshot(ids[-1]).done:
                    break
            except KeyError:
                break
            time.sleep(0.02)
    with pytest.raises(KeyError):
        manager.snapshot(ids[0])
    assert all(manager.snapshot(job_id).status == "failed" for job_id in ids[1:])
    with pytest.raises(ValueError, match="'max_finished' parameter of JobManager"):
        JobManager(max_finished=0)


def test_a_pause_longer_than_max_pause_s_stops_the_job_which_can_then_be_forgotten():
    """A paused job whose tab was closed must not hold its thread, data and model for ever."""
    manager = JobManager(gpu_slots=1, max_pause_s=0.3, max_finished=1)
    job_id = manager.start_training(_options(5000))
    _wait(manager, job_id, lambda s: s.iteration >= 10)
    manager.pause(job_id)
    snap = _wait(manager, job_id, _done, timeout=10)
    assert snap.status == "stopped" and snap.iteration < 5000
    assert snap.notes[-1] == "paused for more than 0.3 s: stopped"
    assert isinstance(snap.result, RunResult)  # the partial result, as after a stop
    _wait(manager, manager.start_training(RunOptions(data="/no/such.csv", device="cpu")), _done)
    with pytest.raises(KeyError):  # evicted: beyond max_finished, as any ended job
        manager.snapshot(job_id)
    with pytest.raises(ValueError, match="'max_pause_s' parameter of JobManager"):
        JobManager(max_pause_s=0)


def test_run_control_stops_a_pause_longer_than_its_limit():
    control = RunControl(max_pause_s=0.1)
    control.pause()
    start = time.monotonic()
    control.wait_while_paused()
    assert 0.1 <= time.monotonic() - start < 1.0
    assert control.stopped and control.pause_expired and control.paused_seconds >= 0.1
    unlimited = RunControl()
    unlimited.pause()
    threading.Timer(0.2, unlimited.resume).start()
    unlimited.wait_while_paused()
    assert not unlimited.stopped and not unlimited.pause_expired


def test_a_training_job_says_how_long_it_will_take_before_training():
    manager = JobManager(gpu_slots=1)
    job_id = manager.start_training(_options(40))
    snap = _wait(manager, job_id, _done)
    estimate = [note for note in snap.notes if "iterations (timed on" in note]
    assert len(estimate) == 1
    assert re.fullmatch(r"about [0-9a-z ]+ for 40 iterations \(timed on \d+\)", estimate[0])


def test_services_never_import_streamlit():
    code = (
        "import sys; import hexagan_core.jobs, hexagan_core.study, hexagan_core.embed, "
        "hexagan_core.explore; print('streamlit' in sys.modules)"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo
    )
    assert out.stdout.strip() == "False"
