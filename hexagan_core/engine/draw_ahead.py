"""Drawing the next iteration's random numbers on another core while this one trains."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import torch

from hexagan_core.draws import Draws, Sampler

__all__ = ["DrawAhead"]


class DrawAhead:
    """`draw(ahead=True)` returns this iteration's draws (made ahead, else now) and starts the
    next iteration's on a drawing thread. Only that thread's `sampler.draw()` calls use the
    generators, in the same order as without it, so the numbers are the same either way."""

    def __init__(self, sampler: Sampler):
        self.sampler = sampler
        self._drawer: ThreadPoolExecutor | None = None
        self._next: Future | None = None

    def draw(self, ahead: bool) -> Draws:
        draws = self._next.result() if self._next is not None else self.sampler.draw()
        self._next = None
        if ahead:
            if self._drawer is None:
                self._drawer = ThreadPoolExecutor(
                    1, "hexagan-draws", initializer=torch.set_num_threads, initargs=(1,)
                )
            self._next = self._drawer.submit(self.sampler.draw)
        return draws

    def close(self) -> None:
        """End the drawing thread, if any (a pending draw is finished, then dropped)."""
        if self._drawer is not None:
            self._drawer.shutdown(wait=True)
            self._drawer, self._next = None, None
