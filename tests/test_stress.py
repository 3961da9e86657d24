"""Stress: many threads using every part of sarle at once get the serial results.

From the hardening issue: "a stress test with several threads decoding,
encoding, computing IoU and reading shards at once, compared with serial
results" -- what sarle must pass before it claims free-threading support.

Every task of the workload is first run serially (``threads=1``) on the main
thread; then ``N_THREADS`` threads, released together by a barrier, run the
whole workload in their own random order for a bounded number of rounds,
each call with a random ``threads=`` (1, 2, 3, 4 or every core), so batch
kernels are split over sarle's shared pool from inside the worker threads
(nested pools, with the pool created and grown while the workers run). The
workload covers:

* ``decode`` of SA-1B-like batches (``benchmarks/corpus.py``) in C and F
  order, one mask at a time, with ``size=``, ``scale=``, ``crop=``, from a
  TFDS batch dict; ``encode`` of the decoded masks (back to the same
  strings); ``area``, ``bbox``, ``iou`` (crowd and self), ``merge``,
  ``label_map``, ``compress``/``decompress``, ``from_polygon``/``from_bbox``;
* the ``sarle.coco`` layer;
* ``sa1b.iter_shard`` over the bundled shard (from its path and from an
  in-memory stream) with ``record.masks()``, ``label_map()`` and boxes;
* malformed input, interleaved: every bad call must raise the same exception
  with the same message as in the serial run (a parser or kernel error
  state shared between threads would name the wrong mask or position).

Every result is compared with the serial one: values, dtypes, shapes and
memory layouts. Another test has the threads decode into disjoint slices of
one shared ``out=`` array. A last one calls sarle from threads with
different ``threads=`` in a fresh process, where its pool is created and
grown.

Fast tier: a few seconds. ``-m slow``: the same for 60 seconds.
"""

from __future__ import annotations

import hashlib
import io
import random
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import numpy as np
import pytest

import sarle
import sarle._threads as sarle_threads
import sarle.codec as codec
import sarle.coco as coco
from sarle import sa1b

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
import corpus  # noqa: E402  (benchmarks/corpus.py: SA-1B-like records)

N_THREADS = 8
#: ``threads=`` given to sarle inside the worker threads (None: every core).
THREAD_CHOICES = (1, 2, 3, 4, None)
#: Seconds a worker may wait at the barrier or for a result before the test fails (deadlock).
HANG = 300

Task = Tuple[str, Callable[[Optional[int]], Any]]


# --------------------------------------------------------------------------- comparison


def same(got: Any, want: Any) -> bool:
    """Exact equality: types, dtypes, shapes, strides and values, recursively."""
    if isinstance(want, np.ndarray):
        return (isinstance(got, np.ndarray) and got.dtype == want.dtype and got.shape == want.shape
                and got.strides == want.strides and np.array_equal(got, want))
    if type(got) is not type(want):
        return False
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    return bool(got == want)


def error_of(call: Callable[[], Any]) -> Tuple[str, str]:
    """``(exception type, message)`` of a call that must fail with ValueError or TypeError."""
    try:
        call()
    except (ValueError, TypeError) as error:
        return type(error).__name__, str(error)
    raise AssertionError("no error raised")


# --------------------------------------------------------------------------- workload


def _image_tasks(seed: int, shape: Tuple[int, int], n: int) -> List[Task]:
    h, w = shape
    image = corpus.make_image(seed, shape=shape, n_masks=n)
    rles = [a["segmentation"] for a in image["annotations"]]
    strings = [r["counts"] for r in rles]
    as_bytes = [{"size": [h, w], "counts": s.encode()} for s in strings]
    tfds = {"counts": np.array([s.encode() for s in strings], dtype=object),
            "size": np.array([[h, w]] * n, dtype=np.uint64)}
    crowd = np.arange(n) % 3 == 1
    polygons = [[1.5, 2.0, w - 3.5, 4.0, w / 2, h - 2.5], [w / 3, h / 3, w / 2, h / 3, w / 2, h / 2]]
    boxes = np.array([[1, 2, w / 3, h / 4], [w / 2 + 0.5, 3.25, w / 4, h / 2]])
    tag = f"{h}x{w}"

    def encode_back(t):
        masks = sarle.decode(rles, order="F" if t == 3 else "C", threads=t)
        return [r["counts"] for r in sarle.encode(masks, threads=t)], \
            [sarle.encode(m)["counts"] for m in masks[: n // 2]]

    def coco_calls(t):
        stack = coco.decode(as_bytes)
        return (stack, coco.encode(stack), coco.area(as_bytes), coco.toBbox(as_bytes),
                coco.iou(as_bytes, as_bytes[::2], [i % 2 for i in range(len(as_bytes[::2]))]),
                coco.merge(as_bytes), coco.merge(as_bytes[:3], intersect=True),
                coco.frPyObjects(polygons, h, w), coco.frBbox(boxes, h, w))

    return [
        (f"decode C {tag}", lambda t: sarle.decode(rles, threads=t)),
        (f"decode F {tag}", lambda t: sarle.decode(rles, order="F", threads=t)),
        (f"decode one by one {tag}",
         lambda t: [sarle.decode(r, order="CF"[i % 2]) for i, r in enumerate(rles)]),
        (f"decode size {tag}", lambda t: sarle.decode(rles, size=(2 * h // 3, w + 5), threads=t)),
        (f"decode scale F {tag}", lambda t: sarle.decode(rles, scale=1.5, order="F", threads=t)),
        (f"decode crop {tag}", lambda t: sarle.decode(rles, crop=(3, 5, w // 2, h // 3), threads=t)),
        (f"decode crop+size F {tag}",
         lambda t: sarle.decode(rles, crop=(w // 4, 0, w // 2, h), size=(h // 3, w), order="F",
                                threads=t)),
        (f"decode tfds {tag}", lambda t: sarle.decode(tfds, threads=t)),
        (f"encode decoded {tag}", encode_back),
        (f"area bbox {tag}", lambda t: (sarle.area(rles, threads=t), sarle.bbox(tfds, threads=t),
                                        [sarle.area(r) for r in rles], [sarle.bbox(r) for r in rles])),
        (f"iou {tag}", lambda t: (sarle.iou(rles, rles[::-1], crowd, threads=t),
                                  sarle.iou(rles, rles, threads=t),
                                  sarle.iou(rles[0], tfds, threads=t))),
        (f"merge {tag}", lambda t: (sarle.merge(rles), sarle.merge(tfds, intersect=True),
                                    sarle.merge(rles[1::2]))),
        (f"label_map {tag}", lambda t: (sarle.label_map(rles),
                                        sarle.label_map(rles, paint="area", dtype=np.uint16, order="F"),
                                        sarle.label_map(tfds, size=(h // 2, w // 3), dtype=np.uint8))),
        (f"compress decompress {tag}",
         lambda t: [sarle.compress(sarle.decompress(r)) for r in rles] + [sarle.compress(b) for b in as_bytes]),
        (f"polygons boxes {tag}", lambda t: (sarle.from_polygon(polygons, h, w),
                                             sarle.from_bbox(boxes, h, w))),
        (f"coco {tag}", coco_calls),
    ]


def _shard_tasks() -> List[Task]:
    path = sa1b.sample_path()
    with open(path, "rb") as f:
        data = f.read()

    def read_path(t):
        out = []
        for sample in sa1b.iter_shard(path):
            record = sample.record
            n = len(record)
            out.append((sample.key, record.image_id, n, hashlib.sha1(sample.jpeg).hexdigest(),
                        record.masks(size=(64, 96), threads=t),
                        record.masks(indices=list(range(0, n, 6)), threads=t),
                        record.masks(order="F", crop=(10, 20, 300, 200), threads=t),
                        record.label_map(size=(48, 64)), record.mask_bboxes(),
                        np.array(record.areas)))
        return out

    def read_stream(t):
        return [(s.key, s.jpeg, s.record.masks(scale=0.125, threads=t),
                 sarle.iou(s.record.segmentations[:10], s.record.segmentations, threads=t))
                for s in sa1b.iter_shard(io.BytesIO(data), images=False)]

    image = corpus.make_image(5, shape=(150, 225), n_masks=30)
    shared = sa1b.ImageRecord(image["image"], image["annotations"])   # one record, every thread

    def use_shared(t):
        good = shared.filter(min_predicted_iou=0.93, min_stability_score=0.95)
        return (shared.masks(threads=t), shared.masks(size=(50, 75), order="F", threads=t),
                good.masks(threads=t), good.ids, shared.label_map(paint="area"),
                shared.label_map(crop=(10, 20, 100, 60), dtype=np.uint8), shared.mask_bboxes(),
                shared[3:9].masks(threads=t))

    return [("iter_shard path", read_path), ("iter_shard stream", read_stream),
            ("shared record", use_shared)]


def _error_tasks() -> List[Task]:
    image = corpus.make_image(21, shape=(40, 60), n_masks=12)
    rles = [a["segmentation"] for a in image["annotations"]]
    h, w = 40, 60
    good = rles[4]["counts"]
    bad_char = {"size": [h, w], "counts": good[:1] + "{" + good[2:]}
    short = {"size": [h, w], "counts": good[:-1] if len(good) > 2 else "0"}
    batch = list(rles)
    batch[5] = bad_char
    batch[9] = {"size": [h, w], "counts": good + "3"}   # a later error, never reported first
    record = sa1b.ImageRecord(dict(image["image"]), [dict(a) for a in image["annotations"]])
    record.annotations[7] = dict(record.annotations[7], segmentation=bad_char)
    path = sa1b.sample_path()
    with open(path, "rb") as f:
        truncated = f.read()[:300_000]

    def read_truncated(t):
        for _ in sa1b.iter_shard(io.BytesIO(truncated)):
            pass

    return [
        ("error decode bad char", lambda t: error_of(lambda: sarle.decode(bad_char))),
        ("error decode short", lambda t: error_of(lambda: sarle.decode(short, order="F"))),
        ("error decode batch", lambda t: error_of(lambda: sarle.decode(batch, threads=t))),
        ("error decode batch size", lambda t: error_of(lambda: sarle.decode(batch, size=(9, 9), threads=t))),
        ("error area batch", lambda t: error_of(lambda: sarle.area(batch, threads=t))),
        ("error bbox batch", lambda t: error_of(lambda: sarle.bbox(batch, threads=t))),
        ("error iou", lambda t: error_of(lambda: sarle.iou(rles, batch, threads=t))),
        ("error merge", lambda t: error_of(lambda: sarle.merge(batch))),
        ("error label_map", lambda t: error_of(lambda: sarle.label_map(batch))),
        ("error encode", lambda t: error_of(lambda: sarle.encode(np.zeros((2, 3, 4, 5), bool), threads=t))),
        ("error encode dtype", lambda t: error_of(lambda: sarle.encode(np.zeros((3, 4)), threads=t))),
        ("error counts type", lambda t: error_of(lambda: sarle.area({"size": [3, 4], "counts": 3.5}))),
        ("error sizes differ", lambda t: error_of(lambda: sarle.iou(rles, [{"size": [w, h], "counts": good}],
                                                                    threads=t))),
        ("error crop", lambda t: error_of(lambda: sarle.decode(rles, crop=(0, 0, w + 1, 2), threads=t))),
        ("error out", lambda t: error_of(lambda: sarle.decode(rles, out=np.zeros((12, w, h), bool),
                                                              threads=t))),
        ("error threads", lambda t: error_of(lambda: sarle.decode(rles, threads=0))),
        ("error coco", lambda t: error_of(lambda: coco.decode([dict(r, counts=r["counts"].encode())
                                                               for r in batch]))),
        ("error record", lambda t: error_of(lambda: record.masks(threads=t))),
        ("error shard", lambda t: error_of(lambda: read_truncated(t))),
    ]


def workload() -> List[Task]:
    return (_image_tasks(1, (96, 144), 14) + _image_tasks(2, (130, 70), 9)
            + _image_tasks(3, (33, 47), 5) + _shard_tasks() + _error_tasks())


@pytest.fixture(scope="module")
def tasks_and_serial():
    tasks = workload()
    serial = [call(1) for _, call in tasks]
    for (name, _), result in zip(tasks, serial):
        if name.startswith("error"):
            kind, message = result
            assert kind in ("ValueError", "TypeError") and message, (name, result)
    # spot checks of the serial results themselves
    by_name = dict(zip((name for name, _ in tasks), serial))
    assert by_name["error decode batch"][1].startswith("mask 5: counts: "), by_name["error decode batch"]
    assert "annotation 7" in by_name["error record"][1], by_name["error record"]
    return tasks, serial


# --------------------------------------------------------------------------- harness


@pytest.fixture
def pool_splits_small_batches(monkeypatch):
    """Batches of small masks are split over sarle's pool too (as big ones are)."""
    monkeypatch.setattr(codec, "_PIXELS_PER_SLICE", 1)
    monkeypatch.setattr(codec, "_MASKS_PER_SLICE", 1)


@pytest.fixture
def fresh_pool(monkeypatch):
    """Start without sarle's thread pool, as a fresh process does: the workers create and grow it."""
    monkeypatch.setattr(sarle_threads, "_pool", None)
    monkeypatch.setattr(sarle_threads, "_pool_workers", 0)
    yield
    pool = sarle_threads._pool
    if pool is not None:
        pool.shutdown(wait=False)


@pytest.fixture
def grown_pool(pool_splits_small_batches):
    """sarle's pool already at the largest size the test asks for (growing it is tested apart)."""
    n = max(max(t for t in THREAD_CHOICES if t), sarle_threads.available_cores())
    sarle.area([{"size": [1, 1], "counts": "01"}] * n, threads=n)


def run_threads(worker: Callable[[int, threading.Barrier], Any], n_threads: int = N_THREADS) -> list:
    """Run ``worker(k, barrier)`` on ``n_threads`` threads released together; their results."""
    barrier = threading.Barrier(n_threads, timeout=HANG)
    pool = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="stress")
    try:
        futures = [pool.submit(worker, k, barrier) for k in range(n_threads)]
        return [f.result(timeout=HANG) for f in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def hammer(tasks: List[Task], serial: list, *, rounds: Optional[int] = None,
           seconds: Optional[float] = None) -> dict:
    """Every thread runs every task per round, in its own random order; failures by task."""
    deadline = [0.0]

    def worker(k: int, barrier: threading.Barrier):
        rng = random.Random(1000 + k)
        barrier.wait()
        if k == 0:
            deadline[0] = time.monotonic() + (seconds or 0)
        calls, failures = 0, []
        r = 0
        while (rounds is not None and r < rounds) or (seconds is not None and
                                                      (r == 0 or time.monotonic() < deadline[0])):
            order = list(range(len(tasks)))
            rng.shuffle(order)
            for i in order:
                name, call = tasks[i]
                t = rng.choice(THREAD_CHOICES)
                try:
                    got = call(t)
                except Exception as error:  # noqa: BLE001 - reported below
                    failures.append(f"{name} (threads={t}): raised {type(error).__name__}: {error}")
                    continue
                calls += 1
                if not same(got, serial[i]):
                    failures.append(f"{name} (threads={t}): differs from the serial result"
                                    + (f": {got} != {serial[i]}" if name.startswith("error") else ""))
            r += 1
        return calls, r, failures

    start = time.perf_counter()
    results = run_threads(worker)
    elapsed = time.perf_counter() - start
    failures = [f for _, _, fs in results for f in fs]
    return {"calls": sum(c for c, _, _ in results), "rounds": [r for _, r, _ in results],
            "seconds": elapsed, "failures": failures}


def _report(stats: dict) -> str:
    counts: dict = {}
    for f in stats["failures"]:
        counts[f] = counts.get(f, 0) + 1
    lines = [f"{n}x {f}" for f, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    return (f"{len(stats['failures'])} failures in {stats['calls']} calls "
            f"({N_THREADS} threads, rounds {stats['rounds']}, {stats['seconds']:.1f} s):\n"
            + "\n".join(lines[:40]))


# --------------------------------------------------------------------------- tests


def test_serial_results_are_right(tasks_and_serial):
    """The reference itself: a few serial results checked against their meaning."""
    tasks, serial = tasks_and_serial
    by_name = dict(zip((name for name, _ in tasks), serial))
    decoded = by_name["decode C 96x144"]
    assert decoded.shape == (14, 96, 144) and decoded.flags.c_contiguous
    assert same(by_name["decode F 96x144"], np.asfortranarray(decoded.transpose(1, 2, 0)).transpose(2, 0, 1))
    strings, halves = by_name["encode decoded 96x144"]
    assert strings == [sarle.encode(m)["counts"] for m in decoded]
    assert halves == strings[:7]
    assert same(by_name["decode crop 96x144"], decoded[:, 5:5 + 32, 3:3 + 72].copy())
    assert by_name["error decode batch"][1].startswith("mask 5: counts: invalid character '{'")


def test_many_threads_get_serial_results(tasks_and_serial, pool_splits_small_batches, fresh_pool):
    tasks, serial = tasks_and_serial
    stats = hammer(tasks, serial, rounds=3)
    print(_report(stats))
    assert not stats["failures"], _report(stats)
    assert sarle_threads._pool is not None   # the workers' batches did go through sarle's pool
    assert stats["calls"] == 3 * N_THREADS * len(tasks)


@pytest.mark.slow
def test_many_threads_get_serial_results_for_a_minute(tasks_and_serial, pool_splits_small_batches,
                                                       fresh_pool):
    tasks, serial = tasks_and_serial
    stats = hammer(tasks, serial, seconds=60)
    print(_report(stats))
    assert not stats["failures"], _report(stats)


def _shared_out_check(rounds: int) -> None:
    image = corpus.make_image(4, shape=(70, 110), n_masks=6 * N_THREADS)
    rles = [a["segmentation"] for a in image["annotations"]]
    h, w = 70, 110
    k = 6
    expected = sarle.decode(rles, threads=1)
    expected_labels = np.stack([sarle.label_map(rles[i * k:(i + 1) * k]) for i in range(N_THREADS)])
    out_c = np.empty((N_THREADS * k, h, w), dtype=bool)                                  # C blocks
    out_f = np.empty((h, w, N_THREADS * k), dtype=np.uint8, order="F").transpose(2, 0, 1)  # F blocks
    one = np.empty((N_THREADS, w, h), dtype=bool).transpose(0, 2, 1)                    # (h, w) F each
    labels = np.empty((N_THREADS, h, w), dtype=np.int32)

    def worker(i: int, barrier: threading.Barrier) -> List[str]:
        rng = random.Random(i)
        lo, hi = i * k, (i + 1) * k
        mine = rles[lo:hi]
        problems = []
        barrier.wait()
        for r in range(rounds):
            t = rng.choice(THREAD_CHOICES)
            out_c[lo:hi] = True
            out_f[lo:hi] = 7
            one[i] = True
            labels[i] = -1
            got_c = sarle.decode(mine, out=out_c[lo:hi], threads=t)
            got_f = sarle.decode(mine, out=out_f[lo:hi], threads=t)
            got_one = sarle.decode(mine[r % k], out=one[i])
            got_labels = sarle.label_map(mine, out=labels[i])
            if not (np.shares_memory(got_c, out_c) and np.shares_memory(got_f, out_f)
                    and np.shares_memory(got_one, one) and np.shares_memory(got_labels, labels)):
                problems.append(f"thread {i}: out= not returned")
            if not np.array_equal(out_c[lo:hi], expected[lo:hi]):
                problems.append(f"thread {i} round {r}: C slice wrong (threads={t})")
            if not np.array_equal(out_f[lo:hi], expected[lo:hi]):
                problems.append(f"thread {i} round {r}: F slice wrong (threads={t})")
            if not np.array_equal(one[i], expected[lo + r % k]):
                problems.append(f"thread {i} round {r}: single-mask slice wrong")
            if not np.array_equal(labels[i], expected_labels[i]):
                problems.append(f"thread {i} round {r}: label slice wrong")
        return problems

    problems = [p for ps in run_threads(worker) for p in ps]
    assert not problems, problems[:20]
    # nothing was written outside a thread's own slice (each ended with its own values)
    assert np.array_equal(out_c, expected) and np.array_equal(out_f, expected)
    assert np.array_equal(labels, expected_labels)


def test_threads_decode_into_disjoint_slices_of_one_out_array(grown_pool):
    _shared_out_check(rounds=40)


@pytest.mark.slow
def test_threads_decode_into_disjoint_slices_of_one_out_array_long(grown_pool):
    _shared_out_check(rounds=4000)


FRESH_PROCESS = textwrap.dedent(r"""
    import sys, threading
    from concurrent.futures import ThreadPoolExecutor
    import numpy as np
    import sarle

    # 1024 small masks: area() gives every thread 64 of them or more, so a call
    # with threads=k splits the batch over k - 1 pool threads (no patching).
    masks = np.zeros((1024, 6, 7), bool)
    for i in range(1024):
        masks[i, i % 6:, : i % 7] = True
    rles = sarle.encode(masks, threads=1)
    expected = sarle.area(rles, threads=1)
    barrier = threading.Barrier(8)

    def job(i):
        barrier.wait()
        problems = []
        for k in range(2, 18):   # ask for more threads each time: the pool is grown under the others
            try:
                if not np.array_equal(sarle.area(rles, threads=k + i % 2), expected):
                    problems.append(f"threads={k + i % 2}: wrong areas")
            except Exception as error:
                problems.append(f"threads={k + i % 2}: {error!r}")
        return problems

    with ThreadPoolExecutor(8) as pool:
        problems = [p for ps in pool.map(job, range(8)) for p in ps]
    print(f"{len(problems)} failed calls of {8 * 16}: {problems[:3]}")
    sys.exit(1 if problems else 0)
""")


def test_threads_with_different_thread_counts_in_a_fresh_process():
    """Callers asking for different ``threads=`` at once while sarle's pool is created and grown.

    Each run is a fresh process: the pool does not exist yet, and a caller
    asking for more threads than it has replaces it -- while other callers
    are submitting to the one it replaces.
    """
    failures = []
    for attempt in range(3):
        done = subprocess.run([sys.executable, "-c", FRESH_PROCESS], capture_output=True, text=True,
                              timeout=HANG)
        if done.returncode:
            failures.append(f"run {attempt}: {done.stdout.strip()} {done.stderr.strip()[-2000:]}")
    assert not failures, "\n".join(failures)
