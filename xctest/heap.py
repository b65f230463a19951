"""Keeping the garbage collector off the media clock.

A process of xctest holds a large long-lived heap (numpy/scipy/aiortc modules, phones, the
simulator): some 200 000 tracked objects once phones are up.  Each full collection walks them
all, which took 70-130 ms on a shared 2-core machine: a pause of several media ticks, in the
middle of calls.  ``settled()`` collects once where the heap is quiet (phones started, before
the calls) and freezes what is left (``gc.freeze``), so later collections only walk what the
calls made.  On leaving, the frozen objects go back to the collector and are freed when they
are garbage."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["resettle", "settled"]

_depth = 0


@contextmanager
def settled() -> Iterator[None]:
    """Freeze the live heap for the block; nested blocks leave the outermost in charge."""
    global _depth
    _depth += 1
    if _depth == 1:
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()


def resettle() -> None:
    """Inside ``settled()``: freeze what was added since (phones just started); else nothing."""
    if _depth > 0:
        gc.collect()
        gc.freeze()
