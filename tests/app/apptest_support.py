"""Helpers for the AppTests: run one page with state preset, re-run it while jobs work.

Each page is run on its own (`AppTest.from_file(page)`), with the state an earlier page would
have left written through `ui.state.preset_session` (STYLE.md section 5). Jobs run for real, in
the process-wide JobManager that the pages also use, on tiny budgets.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `pytest` without `python -m`: make the pages' imports resolve
    sys.path.insert(0, str(REPO))

from hexagan_core.config import preset  # noqa: E402
from hexagan_core.experiment import RunOptions  # noqa: E402
from ui import runtime  # noqa: E402
from ui.state import preset_session  # noqa: E402

PAGE_TIMEOUT_S = 60


def page_test(page: str, **state) -> AppTest:
    """An AppTest of pages/<page>.py with `ui.state.preset_session(**state)` applied."""
    at = AppTest.from_file(str(REPO / "pages" / f"{page}.py"), default_timeout=PAGE_TIMEOUT_S)
    preset_session(at.session_state, **state)
    return at


def rerun_until(at: AppTest, done: Callable[[AppTest], bool], timeout: float = 120.0) -> AppTest:
    """Re-run the page (as its fragment would) until `done(at)`, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        if time.monotonic() > deadline:
            raise AssertionError(f"page did not reach the expected state in {timeout:.0f} s")
        time.sleep(0.5)


def wait_for_job(job_id: str, timeout: float = 180.0):
    """The job's final snapshot (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        snap = runtime.job_manager().snapshot(job_id)
        if snap.done:
            return snap
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {snap.status} after {timeout:.0f} s")
        time.sleep(0.2)


def train(**options) -> str:
    """Start a training job in the pages' JobManager, wait for it, return its id."""
    base = {"iterations": 60, "device": "cpu", "config": preset("default", eval_every=20)}
    job_id = runtime.job_manager().start_training(RunOptions(**{**base, **options}))
    snap = wait_for_job(job_id)
    assert snap.status == "finished", snap.error
    return job_id
