"""Running a batch kernel over slices of the batch on several threads.

Every kernel in ``_rle.pyx`` releases the GIL for its work, so plain Python
threads run them in parallel. A batch is cut into contiguous slices, one per
thread; the calling thread does the first slice itself. Results are written
into disjoint parts of one output, so they are identical to a serial run; if
slices fail, the error of the lowest slice (the first bad mask in index order)
is raised, as a serial run would.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, List, Optional, Tuple

_lock = threading.Lock()
_pool: Optional[ThreadPoolExecutor] = None
_pool_workers = 0


def _forget_pool_in_child() -> None:
    # A forked child (a DataLoader worker) has none of the parent's threads, but would
    # still submit to the parent's executor, whose work queue nothing reads: a batch
    # call would wait forever. The child starts its own executor when it needs one.
    global _lock, _pool, _pool_workers
    _lock = threading.Lock()
    _pool, _pool_workers = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: Optional[int]) -> Optional[int]:
    """Check a ``threads=`` argument: ``None`` (all available cores) or a positive int.

    ``None`` stays ``None``: ``run_slices`` asks the OS for the core count
    only when a batch is big enough to split, so single-mask calls never do.
    """
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be a positive int or None, got {threads!r}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    return threads


def _submit(workers: int, calls: List[Tuple[Callable[..., None], tuple]]) -> List[Future]:
    """Submit ``calls`` to the shared pool, grown to at least ``workers`` threads.

    Submission happens under the lock: a call that grows the pool shuts the
    old one down, and another thread must not submit to it after that. Work
    already submitted to an old pool still runs to completion.
    """
    global _pool, _pool_workers
    with _lock:
        if _pool is None or _pool_workers < workers:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sarle")
            _pool_workers = workers
            if old is not None:
                old.shutdown(wait=False)
        return [_pool.submit(fn, *args) for fn, args in calls]


def run_slices(
    n: int, threads: Optional[int], work: Callable[[int, int], None], *, min_slice: int = 1
) -> None:
    """Call ``work(start, stop)`` over contiguous slices covering ``range(n)``.

    At most ``threads`` slices (``None``: one per available core), each of
    at least ``min_slice`` items (small
    batches run on the calling thread alone: starting a thread costs more
    than a few small masks).
    """
    slices = max(1, n // max(1, min_slice))
    if slices > 1:
        slices = min(slices, available_cores() if threads is None else threads)
    if slices == 1:
        work(0, n)
        return
    bounds = [n * i // slices for i in range(slices + 1)]
    futures = _submit(slices - 1, [(work, (bounds[i], bounds[i + 1])) for i in range(1, slices)])
    errors = []
    try:
        work(bounds[0], bounds[1])
    except BaseException as error:  # re-raised below, in index order
        errors.append(error)
    for future in futures:
        error = future.exception()
        if error is not None:
            errors.append(error)
    if errors:
        raise errors[0]
