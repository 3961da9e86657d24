"""The output pool: freed decode outputs of 16 MiB or more are reused by the next decode.

What must hold: a reused block is written whole (nothing of the earlier output shows
through), memory goes back to the pool only when no array or view uses it, the limit
is kept, and the pool survives threads, garbage collection, fork and interpreter exit.
"""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sarle
import strategies as S
from sarle import _pool, _rle


@contextlib.contextmanager
def _empty_pool():
    """An empty pool at the default limit; its limit, MIN_BYTES and _MIN_FILL restored after."""
    limit, min_bytes, min_fill = sarle.set_output_pool_limit(0), _pool.MIN_BYTES, _pool._MIN_FILL
    sarle.set_output_pool_limit(1 << 30)
    try:
        yield _pool
    finally:
        _pool.MIN_BYTES, _pool._MIN_FILL = min_bytes, min_fill
        sarle.set_output_pool_limit(0)
        sarle.set_output_pool_limit(limit)


@contextlib.contextmanager
def _switching_threads_often():
    """Threads switch every microsecond instead of every 5 ms, so races show up."""
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(switch)


@pytest.fixture
def pool():
    """An empty pool with the default limit and threshold, restored afterwards."""
    with _empty_pool() as empty:
        yield empty


def _owner(a: np.ndarray):
    """The object at the end of an array's base chain (the pool's buffer for a pooled output)."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


def _block_size(a: np.ndarray) -> int:
    return _owner(a)._block.size


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _big_batch(n=5, h=1500, w=2250, seed=0):
    """n SA-1B-sized masks (about 3.4 MB each), the first mostly foreground."""
    masks = np.stack([S.sa1b_like_mask(seed + i, h, w) for i in range(n)])
    masks[0] = ~masks[0]
    return masks, sarle.encode(masks)


def test_reuse_writes_every_byte(pool):
    masks, rles = _big_batch()
    assert masks.nbytes >= pool.MIN_BYTES
    ones = sarle.encode(np.ones_like(masks))
    for order in "CF":
        first = sarle.decode(ones, order=order)
        assert first.all() and isinstance(_owner(first), pool.OutputBuffer)
        where = _address(first)
        del first
        before = pool.info()
        got = sarle.decode(rles, order=order)
        after = pool.info()
        assert after["reused"] == before["reused"] + 1
        assert _address(got) == where                     # the freed block, reused
        assert got.flags.c_contiguous == (order == "C")
        np.testing.assert_array_equal(got, masks)
        del got


def test_views_keep_the_memory(pool):
    masks, rles = _big_batch()
    first = sarle.decode(rles)
    view = first[1:3, ::7]
    del first
    gc.collect()
    assert pool.info()["held_blocks"] == 0               # the view holds it
    second = sarle.decode(sarle.encode(np.ones_like(masks)))
    assert not np.shares_memory(second, view)
    np.testing.assert_array_equal(view, masks[1:3, ::7])
    assert second.all()
    del view
    assert pool.info()["held_blocks"] == 1
    del second
    assert pool.info()["held_blocks"] == 2


def test_views_by_other_libraries_keep_the_memory(pool):
    # A buffer export (memoryview, torch.from_numpy) keeps the memory as an array does.
    masks, rles = _big_batch()
    first = sarle.decode(rles)
    memory = memoryview(first)
    try:
        import torch
        tensor = torch.from_numpy(sarle.decode(rles)[1:])
    except ImportError:
        tensor = None
    del first
    gc.collect()
    assert pool.info()["held_blocks"] == 0
    others = [sarle.decode(sarle.encode(np.ones_like(masks))) for _ in range(2)]
    np.testing.assert_array_equal(np.asarray(memory), masks)
    if tensor is not None:
        np.testing.assert_array_equal(tensor.numpy(), masks[1:])
    assert all(o.all() for o in others)


def test_sizes_served(pool):
    # A request takes the smallest held block it fills at least half of, or new memory.
    pool.MIN_BYTES = 1 << 20
    masks, rles = _big_batch(n=10)
    a, b = sarle.decode(rles), sarle.decode(rles[:5])
    capacity_a, capacity_b = _block_size(a), _block_size(b)
    assert capacity_a > capacity_b >= b.nbytes
    del a, b
    assert pool.info()["held_blocks"] == 2
    c = sarle.decode(rles[:5])               # fits both: the smaller
    assert _block_size(c) == capacity_b
    np.testing.assert_array_equal(c, masks[:5])
    del c
    d = sarle.decode(rles[:4])               # fills under half of a, over half of b
    assert 2 * d.nbytes < capacity_a and _block_size(d) == capacity_b
    del d
    e = sarle.decode(rles[:2])               # under half of either: new memory
    assert 2 * e.nbytes < capacity_b and _block_size(e) < capacity_b
    assert pool.info()["held_blocks"] == 2
    np.testing.assert_array_equal(e, masks[:2])


def test_limit(pool):
    masks, rles = _big_batch()
    assert sarle.set_output_pool_limit(0) == 1 << 30
    a = sarle.decode(rles)
    assert isinstance(_owner(a), np.ndarray)   # numpy memory, not pooled
    del a
    info = pool.info()
    assert (info["limit"], info["held_bytes"], info["held_blocks"]) == (0, 0, 0)
    sarle.set_output_pool_limit(1 << 30)
    a, b = sarle.decode(rles), sarle.decode(rles)
    size = _block_size(a)
    del a, b
    assert pool.info()["held_blocks"] == 2
    # a limit under two blocks keeps the newest one
    sarle.set_output_pool_limit(size + 1)
    assert pool.info()["held_blocks"] == 1 and pool.info()["held_bytes"] == size
    # an output larger than the limit is not pooled
    sarle.set_output_pool_limit(size // 2)
    assert pool.info()["held_blocks"] == 0
    c = sarle.decode(rles)
    assert isinstance(_owner(c), np.ndarray)
    np.testing.assert_array_equal(c, masks)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError),
                                        ("1", TypeError), (None, TypeError)])
def test_limit_argument(pool, bad, error):
    with pytest.raises(error, match="max_bytes"):
        sarle.set_output_pool_limit(bad)
    assert pool.info()["limit"] == 1 << 30
    assert sarle.set_output_pool_limit(np.int64(5)) == 1 << 30


@pytest.mark.parametrize("text, limit", [("0", 0), ("123456", 123456), (None, 1 << 30)])
def test_limit_from_environment(monkeypatch, text, limit):
    if text is None:
        monkeypatch.delenv("SARLE_OUTPUT_POOL_BYTES", raising=False)
    else:
        monkeypatch.setenv("SARLE_OUTPUT_POOL_BYTES", text)
    assert _pool._limit_from_environment() == limit


@pytest.mark.parametrize("text", ["1GB", "-5", "", "1e9"])
def test_bad_limit_from_environment(monkeypatch, text):
    monkeypatch.setenv("SARLE_OUTPUT_POOL_BYTES", text)
    with pytest.raises(ValueError, match="SARLE_OUTPUT_POOL_BYTES"):
        _pool._limit_from_environment()


_ORDERS = st.sampled_from("CF")


@given(st.lists(st.sampled_from(S.KINDS), min_size=1, max_size=4), S.sizes(40),
       st.integers(0, 2**32 - 1), _ORDERS, st.sampled_from([None, "size", "crop"]),
       st.sampled_from([0, 1 << 40]), st.sampled_from([1, 2]))
def test_reused_block_any_decode(kinds, hw, seed, order, view, stream_bytes, threads):
    # With pooling from the first byte, a block left full of ones by an earlier output
    # serves the next decode, streamed or plain, whole or sampled, either layout: the
    # result is the plain decode's.
    h, w = hw
    masks = np.stack([S.structured_mask(k, h, w, seed + i) for i, k in enumerate(kinds)])
    rles = sarle.encode(masks)
    kw = {}
    if view == "size" and h and w:
        kw = {"size": (h // 2 + 1, 2 * w)}
    elif view == "crop" and h and w:
        kw = {"crop": (w // 3, h // 4, w - w // 3, h - h // 4)}
    want = sarle.decode(rles, order=order, threads=1, **kw)
    assert not isinstance(_owner(want), _pool.OutputBuffer)
    stream = _rle._set_stream_stores(stream_bytes)
    try:
        with _empty_pool():
            _pool.MIN_BYTES, _pool._MIN_FILL = 1, 0.0   # every output pooled, any block serves
            if want.size == 0:
                return
            dirty = np.ones(want.shape, bool)
            first = sarle.decode(sarle.encode(dirty), order=order)
            assert first.all()
            del first
            got = sarle.decode(rles, order=order, threads=threads, **kw)
            assert isinstance(_owner(got), _pool.OutputBuffer)
            assert _pool.info()["reused"] >= 1
            np.testing.assert_array_equal(got, want)
            assert got.strides == want.strides
    finally:
        _rle._set_stream_stores(stream)


def test_threads_share_the_pool(pool):
    # Eight threads decode batches of different sizes and drop them, over a pool smaller
    # than what they hold at once: every result is the serial one.
    pool.MIN_BYTES = 1 << 16
    sarle.set_output_pool_limit(8 << 20)
    batches = []
    for i in range(6):
        masks = np.stack([S.structured_mask(k, 200 + 37 * i, 300, i) for k in S.KINDS])
        batches.append((masks, sarle.encode(masks)))
    failures = []

    def work(t):
        try:
            for r in range(30):
                masks, rles = batches[(t + r) % len(batches)]
                order = "CF"[(t + r) % 2]
                got = sarle.decode(rles, order=order, threads=1 + r % 2)
                if not np.array_equal(got, masks):
                    failures.append((t, r))
                del got
        except Exception as exc:                       # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    with _switching_threads_often():
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert failures == []
    info = pool.info()
    assert info["held_bytes"] <= 8 << 20 and info["reused"] > 0


def test_freed_while_another_thread_trims(pool):
    # Frees append to the pool without its lock while another thread trims it or reads
    # what it holds under the lock: neither may trip over the other.
    sarle.set_output_pool_limit(1 << 40)
    blocks = [np.zeros(1, np.uint8) for _ in range(3000)]
    for block in blocks[:1000]:
        pool._return_block(block)
    done, errors = threading.Event(), []

    def trim():
        try:
            while not done.is_set():
                with pool._lock:
                    pool._trim_locked()
                pool.info()
        except Exception as exc:                       # reported below
            errors.append(exc)

    trimmer = threading.Thread(target=trim)
    with _switching_threads_often():
        trimmer.start()
        try:
            for block in blocks[1000:]:
                pool._return_block(block)
        finally:
            done.set()
            trimmer.join()
    assert errors == [] and pool.info()["held_blocks"] == 3000


def test_freed_while_the_lock_is_held(pool):
    # An output freed while the pool's lock is held (a garbage collection inside take,
    # or another thread in take) is queued without waiting; the next take trims.
    masks, rles = _big_batch()
    a = sarle.decode(rles)
    reused = pool.info()["reused"]
    with pool._lock:
        del a
        assert len(pool._held) == 1
    b = sarle.decode(rles)
    assert pool.info()["reused"] == reused + 1
    np.testing.assert_array_equal(b, masks)


def test_cycle_collected_inside_take(pool):
    # An output kept alive only by a reference cycle is freed by the collector, which
    # may run at any allocation, also inside take with its lock held.
    masks, rles = _big_batch()

    class Holder:
        pass

    holder = Holder()
    holder.self, holder.masks = holder, sarle.decode(rles)
    del holder
    with pool._lock:
        gc.collect()
    assert len(pool._held) == 1
    np.testing.assert_array_equal(sarle.decode(rles), masks)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_fork_while_the_lock_is_held(pool):
    # DataLoader workers are forked: a fork while another thread is in take must not
    # leave the child's pool locked.
    masks, rles = _big_batch()
    with pool._lock:
        pid = os.fork()
        if pid == 0:                                      # the child
            ok = False
            try:
                ok = np.array_equal(sarle.decode(rles), masks)
                ok = ok and np.array_equal(sarle.decode(rles), masks)
            finally:
                os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_outputs_alive_at_exit():
    # Pooled outputs alive, freed and cycled at interpreter exit: a clean exit.
    code = (
        "import sarle, numpy as np\n"
        "rles = sarle.encode(np.ones((3, 2000, 3000), bool))\n"
        "kept = sarle.decode(rles)\n"
        "class C: pass\n"
        "c = C(); c.c = c; c.m = sarle.decode(rles)\n"
        "freed = sarle.decode(rles); del freed\n"
        "assert sarle.output_pool_info()['held_blocks'] == 1\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
