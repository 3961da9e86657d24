"""Threads: batch kernels split across threads, and many threads calling sarle at once.

Every result must be identical to a serial run, and an error must name the
same mask a serial run names. The thresholds below which a batch stays on
one thread are patched to 1 so that small test batches really are split.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time

import numpy as np
import pytest

import sarle
import sarle.codec as codec
from strategies import KINDS, structured_mask


@pytest.fixture
def split_everything(monkeypatch):
    monkeypatch.setattr(codec, "_PIXELS_PER_SLICE", 1)
    monkeypatch.setattr(codec, "_MASKS_PER_SLICE", 1)


def _stack(n, h, w, seed=0):
    masks = [structured_mask(KINDS[i % len(KINDS)], h, w, seed=seed + i) for i in range(n)]
    masks[1] = np.zeros((h, w), bool)
    masks[2] = np.ones((h, w), bool)
    return np.array(masks, dtype=bool)


@pytest.mark.parametrize("threads", [2, 3, 4, 7])
@pytest.mark.parametrize("h, w", [(37, 53), (1, 40), (40, 1), (61, 17)])
def test_batch_results_do_not_depend_on_threads(split_everything, threads, h, w):
    masks = _stack(11, h, w)
    rles = sarle.encode(masks, threads=1)
    assert sarle.encode(masks, threads=threads) == rles
    for order in ("C", "F"):
        serial = sarle.decode(rles, order=order, threads=1)
        parallel = sarle.decode(rles, order=order, threads=threads)
        assert np.array_equal(parallel, masks) and np.array_equal(serial, masks)
        assert parallel.strides == serial.strides
    out = np.full(masks.shape, 7, dtype=np.uint8)
    sarle.decode(rles, out=out, threads=threads)
    assert np.array_equal(out, masks)
    assert np.array_equal(sarle.area(rles, threads=threads), sarle.area(rles, threads=1))
    assert np.array_equal(sarle.bbox(rles, threads=threads), sarle.bbox(rles, threads=1))
    crowd = np.arange(len(rles)) % 3 == 0
    assert np.array_equal(
        sarle.iou(rles, rles[::-1], crowd, threads=threads),
        sarle.iou(rles, rles[::-1], crowd, threads=1),
    )


@pytest.mark.parametrize("threads", [2, 4])
@pytest.mark.parametrize("bad", [0, 5, 9])
def test_errors_name_the_same_mask_as_a_serial_run(split_everything, threads, bad):
    rles = sarle.encode(_stack(10, 20, 30), threads=1)
    rles[bad] = {"size": [20, 30], "counts": rles[bad]["counts"] + "1"}   # sums past h*w
    rles[9 if bad != 9 else 8] = {"size": [20, 30], "counts": "1p"}        # a later error too
    first = min(bad, 9 if bad != 9 else 8)
    calls = [
        lambda: sarle.decode(rles, threads=threads),
        lambda: sarle.decode(rles, order="F", threads=threads),
        lambda: sarle.area(rles, threads=threads),
        lambda: sarle.bbox(rles, threads=threads),
        lambda: sarle.iou(rles, rles[:1], threads=threads),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=rf"^mask {first}: counts: "):
            call()


def test_threads_argument_is_checked():
    rle = sarle.encode(np.eye(4, dtype=bool))
    for bad in (0, -1):
        with pytest.raises(ValueError, match="threads"):
            sarle.decode([rle], threads=bad)
    for bad in ("2", 1.5, True):
        with pytest.raises(TypeError, match="threads"):
            sarle.area([rle], threads=bad)


def test_many_threads_calling_sarle_at_once():
    """Kernels release the GIL: concurrent callers must see serial results."""
    rng = np.random.default_rng(7)
    masks = [structured_mask(KINDS[i % len(KINDS)], int(rng.integers(1, 90)),
                             int(rng.integers(1, 90)), seed=i) for i in range(60)]
    rles = [sarle.encode(m, threads=1) for m in masks]
    same = [r for r in rles if r["size"] == rles[0]["size"]]
    expected_iou = sarle.iou(same, same, threads=1)

    def job(i):
        r = rles[i]
        got = sarle.encode(masks[i], threads=1)
        decoded = sarle.decode(r, order="C" if i % 2 else "F")
        return (got == r, np.array_equal(decoded, masks[i]),
                sarle.area(r) == int(masks[i].sum()),
                np.array_equal(sarle.iou(same, same, threads=1), expected_iou),
                sarle.decompress(sarle.compress(r)) == sarle.decompress(r))

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            results = list(pool.map(job, range(len(masks))))
            assert all(all(flags) for flags in results)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_batches_on_threads_in_a_forked_child(split_everything):
    # A DataLoader worker is forked from a process that has already run batches on
    # threads: the child has none of those threads, and its batches must still run
    # (they used to wait forever on the parent's executor).
    masks = _stack(6, 40, 50)
    rles = sarle.encode(masks, threads=2)
    np.testing.assert_array_equal(sarle.decode(rles, threads=2), masks)
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            ok = np.array_equal(sarle.decode(rles, threads=2), masks)
            ok = ok and np.array_equal(sarle.area(rles, threads=2), masks.sum(axis=(1, 2)))
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child's batch decode did not finish in 60 s")
