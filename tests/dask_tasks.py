"""Shard tasks for tests/test_distributed.py that Dask workers import by name.

Dask sends a task function to a worker by reference (module and name), so
the tasks the tests run must live in a module the worker processes can
import: this one. ``tests/`` is on ``sys.path`` (conftest.py puts it
there) and the workers of a ``LocalCluster`` are spawned with the parent's
``sys.path``, including the ones a nanny restarts after a kill.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sarle.jobs import export_task, stats_task


def flaky_stats(path: str, marker_dir: str, progress: Any = None) -> Any:
    """``stats_task``, but the first attempt per shard fails (a marker file remembers it)."""
    marker = os.path.join(marker_dir, os.path.basename(path) + ".tried")
    if not os.path.exists(marker):
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        raise RuntimeError(f"first attempt at {os.path.basename(path)} fails")
    return stats_task(path, "raise", progress=progress)


def slow_stats(path: str, delay: float, progress: Any = None) -> Any:
    """``stats_task`` after ``delay`` seconds, so that a job lasts long enough to kill a worker."""
    time.sleep(delay)
    return stats_task(path, "raise", progress=progress)


class SlowProgress:
    """A progress object that sleeps on every image, so an export is slow in mid-write."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def update(self, shards: int = 0, images: int = 0, masks: int = 0) -> None:
        time.sleep(self.delay)


def slow_export(
    path: str, out_dir: str, long_side: int, label_map: bool, delay: float, progress: Any = None
) -> Any:
    """``export_task`` that sleeps ``delay`` seconds after each image is written (temp dir open)."""
    return export_task(path, out_dir, long_side, label_map, "raise", progress=SlowProgress(delay))


def worker_pid() -> int:
    return os.getpid()
