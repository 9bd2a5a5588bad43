"""Python's cyclic garbage collector, paused while a chunk is made or applied, and by the
import worker for a whole import: each time the collector resumed, its first sweeps went
over every object that the chunk in hand and the reading and screening caches hold."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector: reading and applying a chunk allocate millions of
    small objects and make no garbage cycles, and generation sweeps over them cost about
    as much as the work itself. Whatever was collectable is collected after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
