"""Freed decode outputs, kept for the next large decode (the output pool).

A batch decode of an SA-1B image returns about 300 MB. Fresh memory that size
comes from the kernel as untouched pages, and every first write to a page
faults it in and clears it, which is most of a decode into a fresh array (on
the bench machines, 34 ms an image against 15.5 ms into memory already mapped,
and 17 against 6 on an earlier one). A loader drops each image's masks before
it decodes the next, so sarle keeps the memory of freed outputs and hands it
to the next decode that fits, which then writes every byte (by non-temporal
stores, see ``decode_into``) instead of relying on zero pages.

Only outputs of ``MIN_BYTES`` or more are pooled: below that, malloc already
reuses freed blocks. A decode gets memory from the pool only while no array
uses it: an ``OutputBuffer`` ends the returned array's base chain, every view
of the array keeps it alive, and only when the last one is gone does its
block go back to the pool. The pool keeps at most ``limit`` bytes (capacity
of the blocks held, 1 GiB by default, ``SARLE_OUTPUT_POOL_BYTES`` in the
environment or ``set_output_pool_limit``), dropping the oldest blocks first.
"""

from __future__ import annotations

import collections
import os
import threading
from typing import Dict, Tuple

import numpy as np

#: Outputs smaller than this are allocated by numpy as usual.
MIN_BYTES = 16 << 20
#: A held block serves a request of at least this fraction of its capacity.
_MIN_FILL = 0.5


def _limit_from_environment() -> int:
    text = os.environ.get("SARLE_OUTPUT_POOL_BYTES")
    if text is None:
        return 1 << 30
    try:
        value = int(text)
    except ValueError:
        raise ValueError(
            f"SARLE_OUTPUT_POOL_BYTES must be a whole number of bytes, got {text!r}"
        ) from None
    if value < 0:
        raise ValueError(f"SARLE_OUTPUT_POOL_BYTES must be >= 0, got {value}")
    return value


# Freed blocks: appended by OutputBuffer.__del__ without a lock (deque appends
# are atomic), taken and trimmed under _lock. Code under the lock never iterates
# the deque in Python (an append from another thread would break the iteration):
# it pops, or reads a snapshot (tuple() copies it in one step).
_held: "collections.deque[np.ndarray]" = collections.deque()
_lock = threading.Lock()
_limit = _limit_from_environment()
_counts = {"reused": 0, "allocated": 0}


def _reset_lock_in_child() -> None:
    # A fork while another thread held the lock would leave it held forever in
    # the child (DataLoader workers are forked).
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_in_child)


class OutputBuffer:
    """The owner of a pooled output's memory: the base of the array ``take`` returns.

    numpy reads the memory through ``__array_interface__``; when this object
    is freed (the array and all its views are gone), the block goes back to
    the pool.
    """

    __slots__ = ("__array_interface__", "_block")

    def __init__(self, block: np.ndarray, nbytes: int):
        self._block = block
        self.__array_interface__ = {
            "version": 3,
            "shape": (nbytes,),
            "typestr": "|u1",
            "data": (block.__array_interface__["data"][0], False),
        }

    def __del__(self) -> None:
        block = self._block
        self._block = None
        if block is not None:
            _return_block(block)


def _total(blocks) -> int:
    return sum(b.size for b in blocks)


def _trim_locked() -> None:
    """Drop the oldest held blocks until the pool holds at most ``_limit`` bytes."""
    while _total(tuple(_held)) > _limit:
        _held.popleft()            # only appends happen outside the lock: still the oldest


def _return_block(block: np.ndarray) -> None:
    if block.size > _limit:
        return                     # freed by numpy now
    _held.append(block)
    # Not blocking: the lock may be held by this very thread (a garbage
    # collection run inside take), or by another one, whose take trims.
    if _lock.acquire(blocking=False):
        try:
            _trim_locked()
        finally:
            _lock.release()


def take(nbytes: int) -> Tuple[np.ndarray, bool]:
    """A 1-D uint8 array of ``nbytes`` for a decode output, and whether it is all zero.

    Outputs of ``MIN_BYTES`` to ``_limit`` bytes get the smallest held block
    they fill at least half of (``False``: it holds an earlier output, every
    byte must be written), else a fresh ``np.zeros`` block (``True``); either
    block goes back to the pool when the output is freed. Other sizes get
    plain ``np.zeros`` memory.
    """
    if nbytes < MIN_BYTES or nbytes > _limit:
        return np.zeros(nbytes, dtype=np.uint8), True
    block = None
    with _lock:
        _trim_locked()
        kept = []
        while _held:
            candidate = _held.popleft()
            fits = nbytes <= candidate.size and nbytes >= _MIN_FILL * candidate.size
            if fits and (block is None or candidate.size < block.size):
                if block is not None:
                    kept.append(block)
                block = candidate
            else:
                kept.append(candidate)
        _held.extend(kept)
        _counts["reused" if block is not None else "allocated"] += 1
    zeroed = block is None
    if zeroed:
        block = np.zeros(nbytes, dtype=np.uint8)
    return np.asarray(OutputBuffer(block, nbytes)), zeroed


def set_limit(max_bytes: int) -> int:
    """Set the most bytes the pool keeps; 0 turns it off. Returns the previous limit."""
    global _limit
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)):
        raise TypeError(f"max_bytes must be an int, got {type(max_bytes).__name__}")
    if max_bytes < 0:
        raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
    with _lock:
        previous, _limit = _limit, int(max_bytes)
        _trim_locked()
    return previous


def info() -> Dict[str, int]:
    """The pool's limit, what it holds now, and how many pooled decodes reused or allocated."""
    with _lock:
        blocks = tuple(_held)
        return {
            "limit": _limit,
            "held_bytes": _total(blocks),
            "held_blocks": len(blocks),
            "reused": _counts["reused"],
            "allocated": _counts["allocated"],
        }
