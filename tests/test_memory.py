"""Memory: no leaks, batch decode costs its output plus O(runs), MemoryError is clean.

From the hardening issue: "no leak over a million operations (RSS and
tracemalloc flat, measured in a test with a bound); peak memory of batch
decode equals the output plus O(runs); a decode whose output cannot be
allocated raises MemoryError cleanly", and "a 100 MB counts string parses in
linear time".

* **Leaks.** After a warm-up, ``N`` calls cycling over every entry point
  (decode in every form, encode, area, bbox, iou, merge, compress,
  label_map, the ``sarle.coco`` layer, batch calls split over sarle's thread
  pool) *and their error paths* (ValueError and TypeError raised by the
  parser, by a kernel in a pool thread, by argument checks) must leave three
  meters flat: tracemalloc (Python objects and numpy buffers), glibc's
  ``mallinfo2`` (every ``malloc``, including the kernels' C scratch buffers,
  which tracemalloc does not see) and RSS (coarse). The reference counts of
  the inputs must not move either (a leaked reference to a shared object
  costs no memory per call). Fast tier ``N = 50_000``; slow tier one million.
* **Peak.** ``decode`` of a batch, in a fresh subprocess: the peak RSS over
  the RSS before the call (``VmHWM`` after resetting it, or ``ru_maxrss``)
  minus the output's ``nbytes`` must be small (C scratch is O(runs) and O(h)
  per thread); in process, the tracemalloc peak minus the output must be
  too. Fast tier 30 masks of 1000x1500 (45 MB); slow tier SA-1B's 100 masks
  of 1500x2250 (337 MB).
* **MemoryError.** In a subprocess whose address space is limited
  (``RLIMIT_AS`` = what it uses + 768 MiB), decoding a valid 65536x65536 RLE
  (4 GiB of output) raises ``MemoryError`` in every form (one mask, C and F,
  a batch, ``label_map``, ``sarle.coco.decode``, a resample to a huge
  size), as does ``compress``/``merge``/``iou`` of an 80 MB string whose
  run buffers cannot be allocated (the kernels' own ``malloc`` failing);
  the process goes on, the address space comes back, and later calls work.
  Sizes beyond sarle's 2**62-pixel limit raise ``ValueError`` before
  anything is allocated.
* **Linear time.** ``area``/``bbox``/``compress`` of a 10x longer string
  take less than 20x longer (complexity, not speed: timing is noisy).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import numpy as np
import pytest

import sarle
import sarle.coco as coco

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
import corpus  # noqa: E402  (benchmarks/corpus.py: SA-1B-like records)

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.path.exists("/proc/self/statm"),
    reason="needs Linux /proc",
)

KiB = 1 << 10
MiB = 1 << 20


# --------------------------------------------------------------------------- meters


def rss_bytes() -> int:
    """Resident set size of this process."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        psutil = pytest.importorskip("psutil")
        return psutil.Process().memory_info().rss


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def _libc_function(name: str):
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


def _mallinfo2() -> Optional[Callable[[], int]]:
    """Bytes malloc'd and not freed, all arenas and mmapped chunks (glibc >= 2.33), or None."""
    function = _libc_function("mallinfo2")
    if function is None:
        return None
    function.restype = _MallInfo2
    function.argtypes = []

    def in_use() -> int:
        info = function()
        return int(info.uordblks + info.hblkhd)

    return in_use


_malloc_trim = _libc_function("malloc_trim")


def trimmed_rss() -> int:
    """RSS after handing malloc's free pages back to the OS (glibc), so it counts what is in use."""
    if _malloc_trim is not None:
        _malloc_trim(0)
    return rss_bytes()


MALLOC_IN_USE = _mallinfo2()


# --------------------------------------------------------------------------- leaks


def _raises(call: Callable[[], object], kind=(ValueError, TypeError)) -> Callable[[], None]:
    def op() -> None:
        try:
            call()
        except kind:
            return
        raise AssertionError("expected an error")

    return op


def _leak_ops() -> Tuple[List[Tuple[str, Callable[[], object]]], List[object]]:
    """``(name, call)`` for every entry point and error path; and the inputs to watch."""
    image = corpus.make_image(11, shape=(48, 72), n_masks=8)
    rles = [a["segmentation"] for a in image["annotations"]]
    h, w = rles[0]["size"]
    rle = next(r for r in rles if sarle.area(r) not in (0, h * w))
    masks = sarle.decode(rles, threads=1)
    mask = masks[rles.index(rle)]
    mask_f = np.asfortranarray(mask.view(np.uint8))
    stack_f = np.asfortranarray(masks.transpose(1, 2, 0).view(np.uint8))
    as_bytes = [{"size": r["size"], "counts": r["counts"].encode()} for r in rles]
    as_runs = sarle.decompress(rle)
    tfds = {"counts": np.array([r["counts"].encode() for r in rles], dtype=object),
            "size": np.array([[h, w]] * len(rles), dtype=np.uint64)}
    out = np.empty((h, w), dtype=bool)
    out_batch = np.empty((len(rles), w, h), dtype=np.uint8).transpose(0, 2, 1)
    crowd = np.arange(len(rles)) % 2 == 0
    polygon = [[3.5, 2.0, 40.0, 5.5, 22.0, 30.0, 4.0, 25.0]]
    boxes = np.array([[1, 2, 10, 20], [30.5, 4.5, 7, 3]])

    bad_char = {"size": [h, w], "counts": rle["counts"][:2] + "p" + rle["counts"][3:]}
    bad_sum = {"size": [3, 4], "counts": "4210"}
    bad_over = {"size": [3, 4], "counts": "42103"}
    bad_type = {"size": [3, 4], "counts": 3.5}
    bad_runs = {"size": [3, 4], "counts": [4, -2, 10]}
    bad_batch = rles[:5] + [bad_char] + rles[5:]
    other_size = {"size": [w, h], "counts": rle["counts"]}

    ops = [
        ("decode", lambda: sarle.decode(rle)),
        ("decode F", lambda: sarle.decode(rle, order="F")),
        ("decode bytes", lambda: sarle.decode(as_bytes[2])),
        ("decode runs", lambda: sarle.decode(as_runs)),
        ("decode out", lambda: sarle.decode(rle, out=out)),
        ("decode size", lambda: sarle.decode(rle, size=(17, 100))),
        ("decode crop", lambda: sarle.decode(rle, crop=(5, 7, 30, 20))),
        ("decode batch", lambda: sarle.decode(rles, threads=1)),
        ("decode batch F", lambda: sarle.decode(rles, order="F", threads=1)),
        ("decode batch out", lambda: sarle.decode(rles, out=out_batch, threads=1)),
        ("decode tfds", lambda: sarle.decode(tfds, threads=1)),
        ("decode batch scale", lambda: sarle.decode(rles, scale=0.5, threads=1)),
        ("decode batch pool", lambda: sarle.decode(rles, threads=2)),
        ("encode", lambda: sarle.encode(mask)),
        ("encode F uint8", lambda: sarle.encode(mask_f)),
        ("encode stack", lambda: sarle.encode(masks, threads=1)),
        ("encode stack pool", lambda: sarle.encode(masks, threads=2)),
        ("area", lambda: sarle.area(rle)),
        ("area batch", lambda: sarle.area(rles, threads=1)),
        ("bbox", lambda: sarle.bbox(rle)),
        ("bbox batch pool", lambda: sarle.bbox(as_bytes, threads=2)),
        ("iou", lambda: sarle.iou(rles, rles[::-1], crowd, threads=1)),
        ("iou self pool", lambda: sarle.iou(rles, rles, threads=2)),
        ("merge", lambda: sarle.merge(rles)),
        ("merge intersect", lambda: sarle.merge(rles[:3], intersect=True)),
        ("compress", lambda: sarle.compress(as_runs)),
        ("compress str", lambda: sarle.compress(rle)),
        ("decompress", lambda: sarle.decompress(rle)),
        ("label_map", lambda: sarle.label_map(rles)),
        ("label_map area uint8 size", lambda: sarle.label_map(rles, paint="area", dtype=np.uint8,
                                                              size=(20, 30))),
        ("from_polygon", lambda: sarle.from_polygon(polygon, h, w)),
        ("from_bbox", lambda: sarle.from_bbox(boxes, h, w)),
        ("coco.encode", lambda: coco.encode(stack_f)),
        ("coco.decode", lambda: coco.decode(as_bytes)),
        ("coco.area", lambda: coco.area(as_bytes)),
        ("coco.toBbox", lambda: coco.toBbox(as_bytes[1])),
        ("coco.iou", lambda: coco.iou(as_bytes[:3], as_bytes, [0] * len(as_bytes))),
        ("coco.merge", lambda: coco.merge(as_bytes)),
        ("coco.frPyObjects", lambda: coco.frPyObjects(polygon, h, w)),
        # error paths
        ("decode bad char", _raises(lambda: sarle.decode(bad_char))),
        ("decode bad sum", _raises(lambda: sarle.decode(bad_sum))),
        ("area runs overflow", _raises(lambda: sarle.area(bad_over))),
        ("bbox bad type", _raises(lambda: sarle.bbox(bad_type), TypeError)),
        ("compress bad runs", _raises(lambda: sarle.compress(bad_runs))),
        ("decode batch bad mask", _raises(lambda: sarle.decode(bad_batch, threads=1))),
        ("decode batch bad mask pool", _raises(lambda: sarle.decode(bad_batch, threads=2))),
        ("iou bad mask pool", _raises(lambda: sarle.iou(bad_batch, rles, threads=2))),
        ("merge sizes", _raises(lambda: sarle.merge([rle, other_size]))),
        ("iou sizes", _raises(lambda: sarle.iou([rle], [other_size]))),
        ("decode crop outside", _raises(lambda: sarle.decode(rle, crop=(0, 0, w + 1, 1)))),
        ("decode out shape", _raises(lambda: sarle.decode(rles, out=out))),
        ("encode float", _raises(lambda: sarle.encode(mask.astype(np.float32)), TypeError)),
        ("label_map empty", _raises(lambda: sarle.label_map([]))),
        ("coco.decode bad", _raises(lambda: coco.decode([as_bytes[0], {"size": [h, w], "counts": b"1p"}]))),
    ]
    watched = [rle, rle["counts"], rles, masks, mask, mask_f, tfds, tfds["counts"][0], as_runs,
               as_runs["counts"], out, out_batch, bad_char, bad_char["counts"], bad_batch, polygon,
               boxes, stack_f]
    return ops, watched


def _check_no_leak(n_plain: int, n_traced: int) -> dict:
    """Run the operations after a warm-up; return the growth of every meter.

    Two passes: ``n_plain`` calls measured with malloc's counters and RSS, then
    ``n_traced`` calls under tracemalloc (which slows Python-level code about
    4x and keeps tables of its own in malloc'd memory, so the malloc meter is
    read without it).
    """
    ops, watched = _leak_ops()
    calls = [call for _, call in ops]
    k = len(calls)

    def cycle(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            calls[i % k]()
        return time.perf_counter() - start

    cycle(100 * k)  # warm-up: caches, free lists, pool threads, numpy's small-block cache
    gc.collect()
    refs0 = [sys.getrefcount(obj) for obj in watched]
    malloc0 = MALLOC_IN_USE() if MALLOC_IN_USE else 0
    rss0 = trimmed_rss()
    plain_seconds = cycle(n_plain)
    gc.collect()
    malloced = (MALLOC_IN_USE() - malloc0) if MALLOC_IN_USE else None
    rss = trimmed_rss() - rss0

    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        cycle(50 * k)  # warm-up again, with tracemalloc's tables in place
        gc.collect()
        traced0 = tracemalloc.get_traced_memory()[0]
        traced_seconds = cycle(n_traced)
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - traced0
    finally:
        if not was_tracing:
            tracemalloc.stop()
    refs = [sys.getrefcount(obj) for obj in watched]
    return {"plain": n_plain, "n_traced": n_traced, "kinds": k, "plain_seconds": plain_seconds,
            "traced_seconds": traced_seconds, "traced": traced, "malloc": malloced, "rss": rss,
            "refs_before": refs0, "refs_after": refs}


def _assert_flat(m: dict, traced_bound: int, malloc_bound: int, rss_bound: int) -> None:
    report = (f"{m['plain']} ops ({m['kinds']} kinds) in {m['plain_seconds']:.1f} s: malloc "
              f"{m['malloc']} B, RSS {m['rss']:+d} B; {m['n_traced']} ops under tracemalloc in "
              f"{m['traced_seconds']:.1f} s: {m['traced']:+d} B")
    print(report)
    assert m["refs_after"] == m["refs_before"], f"reference leak on an input: {report}"
    assert m["traced"] < traced_bound, f"tracemalloc grew: {report}"
    if m["malloc"] is not None:
        assert m["malloc"] < malloc_bound, f"malloc'd memory grew: {report}"
    assert m["rss"] < rss_bound, f"RSS grew: {report}"


LEAK_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import sarle.codec as codec
codec._PIXELS_PER_SLICE = 1   # small batches go through sarle's pool when threads > 1
codec._MASKS_PER_SLICE = 1
import test_memory
print(json.dumps(test_memory._check_no_leak(int(sys.argv[2]), int(sys.argv[3]))))
"""


def _leak_run(n_plain: int, n_traced: int, timeout: float) -> dict:
    """``_check_no_leak`` in a fresh process: no other test's threads, arenas or garbage around."""
    return _run_python(LEAK_SCRIPT, str(Path(__file__).resolve().parent), str(n_plain), str(n_traced),
                       timeout=timeout)


@linux_only
def test_no_leak_over_many_operations():
    # 54 kinds of call. A leak of 16 bytes in every call would add 1.6 MB of
    # malloc'd chunks (glibc's smallest is 32 bytes) and of RSS over 50_000
    # calls, and 320 kB of traced memory over 20_000; one of 256 bytes in a
    # single kind of call, 230 kB (malloc) and 95 kB (traced). Measured noise:
    # malloc < 8 kB, traced < 30 kB, RSS < 150 kB.
    m = _leak_run(50_000, 20_000, timeout=300)
    _assert_flat(m, traced_bound=64 * KiB, malloc_bound=64 * KiB, rss_bound=1 * MiB)


@pytest.mark.slow
@linux_only
def test_no_leak_over_a_million_operations():
    # One million calls measured by malloc'd bytes and RSS, and a quarter of a
    # million under tracemalloc (which slows the calls about 5x: a million took
    # 200 s of CI's 20 minutes). A leak of 16 bytes in every call would add
    # 32 MB malloc'd and of RSS, 4 MB traced; one of 16 bytes in a single kind
    # of call (18_500 calls), 590 kB of malloc'd chunks or 75 kB traced.
    # Measured over a million traced: malloc +6 kB, RSS +80 kB, traced +38 kB.
    m = _leak_run(1_000_000, 250_000, timeout=1800)
    _assert_flat(m, traced_bound=64 * KiB, malloc_bound=128 * KiB, rss_bound=4 * MiB)


# --------------------------------------------------------------------------- peak


def _sa1b_rles(seed: int, shape: Tuple[int, int], n: int) -> List[dict]:
    image = corpus.make_image(seed, shape=shape, n_masks=n)
    return [a["segmentation"] for a in image["annotations"]]


def _traced_peak(call):
    """``call()``'s result and the most memory tracemalloc saw held during it, over before."""
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    result = call()
    return result, tracemalloc.get_traced_memory()[1] - base


def test_batch_decode_tracemalloc_peak_is_the_output():
    """numpy buffers and Python objects made during a batch decode: the output and a little more."""
    rles = _sa1b_rles(5, (1000, 1500), 30)
    sarle.decode(rles[:2])   # warm-up
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    pool_limit = sarle.set_output_pool_limit(0)     # every output allocated
    try:
        # The pool off: each output is new memory, and little else is made. On: a decode
        # after the first takes the freed output's memory, and nothing large is made.
        for pool, new_memory in ((0, 30 * 1000 * 1500), (1 << 30, 0)):
            sarle.set_output_pool_limit(pool)
            sarle.decode(rles)               # with the pool on, its block is freed into it
            for kwargs in ({}, {"order": "F"}, {"threads": 1}):
                result, peak = _traced_peak(lambda: sarle.decode(rles, **kwargs))
                extra = peak - new_memory
                print(f"decode {kwargs}, pool limit {pool}: output {result.nbytes / MiB:.1f} MiB, "
                      f"traced peak over the new memory {extra} B")
                assert result.nbytes == 30 * 1000 * 1500
                assert 0 <= extra < 256 * KiB, (kwargs, pool, extra)
                del result
        small, peak = _traced_peak(lambda: sarle.decode(rles, size=(100, 150)))
        extra = peak - small.nbytes
        print(f"decode size=(100, 150): traced peak over the output {extra} B")
        assert extra < 256 * KiB, extra   # never a full-size mask
    finally:
        sarle.set_output_pool_limit(0)
        sarle.set_output_pool_limit(pool_limit)
        if not was_tracing:
            tracemalloc.stop()


PEAK_SCRIPT = r"""
import gc, json, os, resource, sys
import numpy as np
import sarle, sarle.coco as coco

case, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    rles = json.load(f)
h, w = rles[0]["size"]
calls = {
    "decode": lambda: sarle.decode(rles),
    "decode F": lambda: sarle.decode(rles, order="F"),
    "decode 1 thread": lambda: sarle.decode(rles, threads=1),
    "coco.decode": lambda: coco.decode([dict(r, counts=r["counts"].encode()) for r in rles]),
    "label_map": lambda: sarle.label_map(rles),
    "decode size": lambda: sarle.decode(rles, size=(h // 8, w // 8)),
    "decode out": lambda: sarle.decode(rles, out=out),
    "decode out F": lambda: sarle.decode(rles, out=out.reshape(len(rles), w, h).transpose(0, 2, 1)),
}
# out= cases write into an array whose pages are all resident before the call
out = np.ones((len(rles), h, w), dtype=bool) if case.startswith("decode out") else None

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

sarle.decode(rles[:1]); sarle.decode(rles[:4], size=(8, 8))   # warm-up
gc.collect()
try:   # peak RSS := current RSS (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
rss0, hwm0 = status("VmRSS"), status("VmHWM")
maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
result = calls[case]()
hwm1 = status("VmHWM")
maxrss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
peak = hwm1 - rss0 if reset else maxrss1 - max(maxrss0, rss0)
new_bytes = 0 if out is not None else int(result.nbytes)
assert out is None or np.shares_memory(result, out)
print(json.dumps({"reset": reset, "rss0": rss0, "hwm0": hwm0, "peak": peak,
                  "nbytes": new_bytes, "maxrss_growth": maxrss1 - maxrss0}))
"""


def _subprocess_env() -> dict:
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def _run_python(code: str, *args: str, timeout: float = 300) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, env=_subprocess_env())
    assert done.returncode == 0, f"subprocess failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_peak(tmp_path: Path, shape: Tuple[int, int], n: int, cases: List[str]) -> None:
    rles = _sa1b_rles(7, shape, n)
    path = tmp_path / "rles.json"
    path.write_text(json.dumps(rles))
    chars = sum(len(r["counts"]) for r in rles)
    # O(runs) scratch (8-byte boundaries per run, a run per 1-3 characters) and O(h) per thread,
    # plus the pages a thread touches the first time (stack, malloc arena): 8 MiB + 32 B per character.
    bound = 8 * MiB + 32 * chars
    for case in cases:
        m = _run_python(PEAK_SCRIPT, case, str(path))
        # A new output may stay partly unresident (calloc'd pages that only background
        # falls on are never touched), so the peak can be below it; into out= (all
        # resident already), the peak growth is the call's own scratch.
        over = m["peak"] - m["nbytes"]
        print(f"{case}: {n} masks {shape[0]}x{shape[1]}, new output {m['nbytes'] / MiB:.1f} MiB, "
              f"peak RSS growth {m['peak'] / MiB:.2f} MiB, over the output {over / MiB:+.2f} MiB "
              f"(counts {chars / MiB:.2f} MiB, bound {bound / MiB:.1f} MiB; HWM reset: {m['reset']})")
        assert over < bound, (case, m)


PEAK_CASES = ["decode", "decode F", "decode 1 thread", "coco.decode", "label_map", "decode size",
              "decode out", "decode out F"]


@linux_only
def test_batch_decode_peak_rss_is_output_plus_runs(tmp_path):
    _check_peak(tmp_path, (1000, 1500), 30, ["decode", "label_map", "decode size", "decode out F"])


@pytest.mark.slow
@linux_only
def test_sa1b_batch_decode_peak_rss_is_output_plus_runs(tmp_path):
    # SA-1B's image: 100 masks of 1500x2250, a 337 MB batch.
    _check_peak(tmp_path, (1500, 2250), 100, PEAK_CASES)


# --------------------------------------------------------------------------- MemoryError


MEMORY_ERROR_SCRIPT = r"""
import gc, json, resource, sys
import numpy as np
import sarle, sarle.coco as coco

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

n_runs = int(sys.argv[1])
H = W = 65536                                            # 4 GiB of pixels
background = sarle.compress({"size": [H, W], "counts": [H * W]})
full = sarle.compress({"size": [H, W], "counts": [0, H * W]})
# n_runs one-pixel runs: '1', '1', then deltas of 0 (a run equal to the one two before)
# (from the fourth value on, a count is a delta to the one two before it)
many = {"size": [8000, n_runs // 8000], "counts": "111" + "0" * (n_runs - 3)}
assert n_runs % 8000 == 0
small = {"size": [3, 4], "counts": "42102"}
small_mask = sarle.decode(small)
sarle.decode([small, small], threads=2); sarle.label_map([small]); sarle.iou([small], [small])
gc.collect()

headroom = 768 << 20
base = status("VmSize")
resource.setrlimit(resource.RLIMIT_AS, (base + headroom, resource.getrlimit(resource.RLIMIT_AS)[1]))

results = {}
def attempt(name, call):
    try:
        value = call()
        outcome = "ok"
    except MemoryError as error:
        value, outcome = None, "MemoryError"
    except BaseException as error:
        value, outcome = None, f"{type(error).__name__}: {error}"
    detail = None
    if outcome == "ok":
        detail = repr(value) if not isinstance(value, np.ndarray) else [list(value.shape), int(value.sum())]
    value = None
    gc.collect()
    # clean: the process goes on, the address space comes back, small work still works
    after = status("VmSize")
    works = bool(np.array_equal(sarle.decode(small), small_mask)
                 and np.array_equal(sarle.decode([small, small], threads=2), [small_mask] * 2)
                 and sarle.area(small) == 4)
    results[name] = {"outcome": outcome, "detail": detail, "vm_growth": after - base, "works": works}

attempt("decode", lambda: sarle.decode(background))
attempt("decode F", lambda: sarle.decode(full, order="F"))
attempt("decode batch", lambda: sarle.decode([background, full]))
attempt("decode batch F", lambda: sarle.decode([background, full], order="F", threads=2))
attempt("decode size", lambda: sarle.decode(small, size=(H, W)))
attempt("label_map", lambda: sarle.label_map([background, full]))
attempt("label_map uint8", lambda: sarle.label_map([full], dtype=np.uint8))
attempt("coco.decode", lambda: coco.decode(background))
attempt("coco.decode batch", lambda: coco.decode([background, full]))
attempt("decode 2**31 x 2**31", lambda: sarle.decode(
    sarle.compress({"size": [2**31, 2**31], "counts": [2**62]})))
attempt("compress many runs", lambda: sarle.compress(many))
attempt("decompress many runs", lambda: sarle.decompress(many))
attempt("merge many runs", lambda: sarle.merge([many, many]))
attempt("iou many runs", lambda: sarle.iou([many], [many]))
attempt("compress many runs again", lambda: sarle.compress(many))
# beyond sarle's 2**62-pixel limit: ValueError before any allocation
attempt("size 2**40 x 2**40", lambda: sarle.decode({"size": [2**40, 2**40], "counts": "0"}))
attempt("label_map 2**40 x 2**40", lambda: sarle.label_map([{"size": [2**40, 2**40], "counts": "0"}]))
attempt("resample to 2**40 x 2**40", lambda: sarle.decode(small, size=(2**40, 2**40)))
attempt("scale 2**40", lambda: sarle.decode(small, scale=2.0**40))
# what fits works under the limit: no full-size mask behind a crop or a resample
attempt("decode crop of 4 GiB", lambda: sarle.decode(full, crop=(100, 200, 64, 32)))
attempt("decode size of 4 GiB", lambda: sarle.decode(full, size=(64, 64)))
attempt("area of 4 GiB", lambda: sarle.area([background, full]))
attempt("area many runs", lambda: sarle.area(many))
attempt("bbox many runs", lambda: sarle.bbox(many).tolist())
# and an allocation of most of the headroom still succeeds: nothing leaked address space
attempt("allocate 512 MiB", lambda: np.ones(512 << 20, dtype=np.uint8)[::4096])
print(json.dumps(results))
"""

MEMORY_ERRORS = ["decode", "decode F", "decode batch", "decode batch F", "decode size", "label_map",
                 "label_map uint8", "coco.decode", "coco.decode batch", "decode 2**31 x 2**31",
                 "compress many runs", "decompress many runs", "merge many runs", "iou many runs",
                 "compress many runs again"]
VALUE_ERRORS = ["size 2**40 x 2**40", "label_map 2**40 x 2**40", "resample to 2**40 x 2**40",
                "scale 2**40"]
WORKS = ["decode crop of 4 GiB", "decode size of 4 GiB", "area of 4 GiB", "area many runs",
         "bbox many runs", "allocate 512 MiB"]


@linux_only
def test_output_that_cannot_be_allocated_raises_memory_error_cleanly():
    pytest.importorskip("resource")
    # 80 million one-pixel runs (an 80 MB string): their boundaries (640 MB of int64, grown by
    # doubling to 1 GiB) do not fit in 768 MiB of headroom; streaming area/bbox need no buffer.
    results = _run_python(MEMORY_ERROR_SCRIPT, str(80_000_000), timeout=300)
    problems = []
    for name, r in results.items():
        print(f"{name}: {r['outcome']} (address space {r['vm_growth'] / MiB:+.0f} MiB)"
              + (f" -> {r['detail']}" if r["detail"] else ""))
        if not r["works"]:
            problems.append(f"{name}: small calls fail afterwards")
        if name != "allocate 512 MiB" and r["vm_growth"] > 64 * MiB:
            problems.append(f"{name}: {r['vm_growth'] / MiB:.0f} MiB of address space kept")
        if name in MEMORY_ERRORS and r["outcome"] != "MemoryError":
            problems.append(f"{name}: expected MemoryError, got {r['outcome']}")
        if name in VALUE_ERRORS and not (r["outcome"].startswith("ValueError:") and "2**62" in r["outcome"]):
            problems.append(f"{name}: expected ValueError naming the 2**62 limit, got {r['outcome']}")
        if name in WORKS and r["outcome"] != "ok":
            problems.append(f"{name}: expected to work, got {r['outcome']}")
    assert set(results) == set(MEMORY_ERRORS + VALUE_ERRORS + WORKS)
    assert results["decode crop of 4 GiB"]["detail"] == [[32, 64], 32 * 64]
    assert results["decode size of 4 GiB"]["detail"] == [[64, 64], 64 * 64]
    assert results["area many runs"]["detail"] == repr(40_000_000)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- linear time


def _long_rle(n_chars: int, seed: int) -> dict:
    """A valid RLE whose counts string has about ``n_chars`` characters (SA-1B-like runs)."""
    rng = np.random.default_rng(seed)
    n_runs = int(n_chars / 1.9)   # lengths below 2**9 take one or two characters
    runs = rng.integers(1, 400, size=n_runs, dtype=np.int64)
    total = int(runs.sum())
    w = 1500
    h = -(-total // w)
    runs[-1] += h * w - total
    rle = sarle.compress({"size": [h, w], "counts": runs})
    return rle


def _best_time(call: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def _check_linear(small_chars: int, repeat_small: int, repeat_big: int) -> None:
    small = _long_rle(small_chars, 1)
    big = _long_rle(10 * small_chars, 2)
    ratio_chars = len(big["counts"]) / len(small["counts"])
    assert 9 < ratio_chars < 11
    for name, call in (("area", sarle.area), ("bbox", sarle.bbox), ("compress", sarle.compress)):
        t_small = _best_time(lambda: call(small), repeat_small)
        t_big = _best_time(lambda: call(big), repeat_big)
        ratio = t_big / t_small
        print(f"{name}: {len(small['counts']) / MiB:.0f} MiB in {t_small * 1e3:.2f} ms, "
              f"{len(big['counts']) / MiB:.0f} MiB in {t_big * 1e3:.1f} ms: x{ratio:.1f}")
        assert ratio < 20 * ratio_chars / 10, (name, t_small, t_big)


def test_counts_parse_in_linear_time():
    _check_linear(1_000_000, repeat_small=9, repeat_big=5)


@pytest.mark.slow
def test_100_mb_counts_parse_in_linear_time():
    _check_linear(10_000_000, repeat_small=5, repeat_big=3)
