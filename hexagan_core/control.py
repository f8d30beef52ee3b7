"""Run control: how a caller (the dashboard's job runner, a test) stops or pauses a run.

One object per run, shared by the thread that trains and the threads that steer it. Training
checks it once per iteration, a study between its runs; neither ever blocks the caller.
"""

from __future__ import annotations

import threading
import time

__all__ = ["RunControl"]

_POLL_S = 0.05


class RunControl:
    """Stop and pause requests for one run, safe to use from any thread.

    `stop()` ends the run at its next check (training: within one iteration). `pause()` holds
    it at its next check until `resume()` or `stop()`; the time spent paused is counted in
    `paused_seconds`, so that reported training times leave it out. A pause longer than
    `max_pause_s` (None: no limit) stops the run and sets `pause_expired`.
    """

    def __init__(self, max_pause_s: float | None = None) -> None:
        self._stop = threading.Event()
        self._pause = threading.Event()
        self.paused_seconds = 0.0
        self.max_pause_s = max_pause_s
        self.pause_expired = False

    def stop(self) -> None:
        self._stop.set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    @property
    def stopped(self) -> bool:
        """Whether a stop was asked for."""
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        """Whether a pause is asked for (and no stop, which ends any pause)."""
        return self._pause.is_set() and not self._stop.is_set()

    def wait_while_paused(self) -> None:
        """Return at once unless paused; else when resumed, stopped or paused too long."""
        if not self.paused:
            return
        start = time.perf_counter()
        while self.paused:
            if self.max_pause_s is not None and time.perf_counter() - start > self.max_pause_s:
                self.pause_expired = True
                self.stop()
            else:
                time.sleep(_POLL_S)
        self.paused_seconds += time.perf_counter() - start

    def wait_for_stop(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds, waking early on a stop; whether it was stopped."""
        return self._stop.wait(timeout)
