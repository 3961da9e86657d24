"""``sarle bench``: time the codec on the bundled sample shard against its peers.

A compact version of ``benchmarks/bench.py`` (which has more jobs, a
generated SA-1B-size corpus and the README table): every library runs the
same jobs on the same masks in one process, interleaved round-robin, outputs
checked equal before anything is timed, medians of ``repeat`` runs, one
thread. pycocotools and rlemasklib are used when installed
(``pip install 'sarle[bench]'``).
"""

from __future__ import annotations

import gc
import platform
import time
from typing import Any, Callable, Dict, List, Optional, TextIO

import numpy as np

from . import __version__, codec, sa1b

Way = Callable[[Any], Any]


def _peers() -> Dict[str, Any]:
    found: Dict[str, Any] = {}
    try:
        from pycocotools import mask as coco

        found["pycocotools"] = coco
    except ImportError:
        pass
    try:
        import rlemasklib
        from rlemasklib import RLEMask

        found["rlemasklib"] = (rlemasklib, RLEMask)
    except ImportError:
        pass
    return found


def _jobs(peers: Dict[str, Any]) -> List[Dict[str, Any]]:
    """``[{name, unit, items(records), ways: {library: fn(item)}}]``."""
    coco = peers.get("pycocotools")
    rml = peers.get("rlemasklib")

    def per_mask(records: List[sa1b.ImageRecord]) -> List[Any]:
        return [rle for r in records for rle in r.segmentations]

    def per_image(records: List[sa1b.ImageRecord]) -> List[Any]:
        return [r.segmentations for r in records]

    def dense(records: List[sa1b.ImageRecord]) -> List[np.ndarray]:
        return [codec.decode(rle, threads=1) for rle in per_mask(records)[::4]]

    jobs: List[Dict[str, Any]] = []
    ways: Dict[str, Way] = {"sarle": lambda r: codec.decode(r, threads=1)}
    if coco:
        ways["pycocotools"] = lambda r: np.ascontiguousarray(coco.decode(r)).view(np.bool_)
    if rml:
        ways["rlemasklib"] = lambda r: rml[1].from_dict(r).to_array(order="C").view(np.bool_)
    jobs.append({"name": "decode one mask -> C bool", "unit": "mask", "items": per_mask, "ways": ways})

    ways = {"sarle": lambda rs: codec.decode(rs, threads=1)}
    if coco:
        ways["pycocotools"] = lambda rs: np.ascontiguousarray(
            coco.decode(rs).transpose(2, 0, 1)).view(np.bool_)
    if rml:
        ways["rlemasklib"] = lambda rs: np.stack(
            [rml[1].from_dict(r).to_array(order="C") for r in rs]).view(np.bool_)
    jobs.append({"name": "decode an image -> (n, h, w) C bool", "unit": "image", "items": per_image,
                 "ways": ways})

    ways = {"sarle": lambda m: codec.encode(m, threads=1)}
    if coco:
        ways["pycocotools"] = lambda m: coco.encode(np.asfortranarray(m.view(np.uint8)))
    if rml:
        ways["rlemasklib"] = lambda m: rml[0].encode(m)
    jobs.append({"name": "encode a C-order bool mask", "unit": "mask", "items": dense, "ways": ways})

    ways = {"sarle": lambda rs: (codec.area(rs, threads=1), codec.bbox(rs, threads=1))}
    if coco:
        ways["pycocotools"] = lambda rs: (coco.area(rs), coco.toBbox(rs))
    if rml:
        ways["rlemasklib"] = lambda rs: (rml[0].area(rs), rml[0].to_bbox(rs))
    jobs.append({"name": "area + bbox of an image's masks", "unit": "image", "items": per_image,
                 "ways": ways})

    ways = {"sarle": lambda rs: codec.iou(rs, rs, threads=1)}
    if coco:
        ways["pycocotools"] = lambda rs: coco.iou(rs, rs, [0] * len(rs))
    if rml:
        ways["rlemasklib"] = lambda rs: rml[1].iou_matrix(
            [rml[1].from_dict(r) for r in rs], [rml[1].from_dict(r) for r in rs])
    jobs.append({"name": "IoU n x n of an image's masks", "unit": "image", "items": per_image,
                 "ways": ways})
    return jobs


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        ca, cb = a["counts"], b["counts"]
        ca = ca.decode() if isinstance(ca, bytes) else ca
        cb = cb.decode() if isinstance(cb, bytes) else cb
        return ca == cb and list(a["size"]) == list(b["size"])
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.array_equal(a.astype(np.float64), b.astype(np.float64)))


def _time(fn: Way, items: List[Any]) -> float:
    start = time.perf_counter_ns()
    for item in items:
        fn(item)
    return (time.perf_counter_ns() - start) * 1e-9


def run(repeat: int = 7, out: Optional[TextIO] = None, records: Optional[List[Any]] = None) -> Dict[str, Any]:
    """Run every job; print a table to ``out``; return the results as a dict."""
    repeat = max(1, int(repeat))
    if records is None:
        records = [s.record for s in sa1b.iter_shard(sa1b.sample_path(), images=False)]
    peers = _peers()
    versions = {"sarle": __version__}
    for name in peers:
        from importlib import metadata

        versions[name] = metadata.version(name)
    results: Dict[str, Any] = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "versions": versions,
        "repeat": repeat,
        "images": len(records),
        "masks": sum(len(r) for r in records),
        "jobs": [],
    }
    if out:
        missing = [p for p in ("pycocotools", "rlemasklib") if p not in peers]
        print(f"sarle {__version__} on the sample shard: {results['images']} images,"
              f" {results['masks']} masks; median of {repeat}, one thread", file=out)
        if missing:
            print(f"(not installed, not timed: {', '.join(missing)}; pip install 'sarle[bench]')",
                  file=out)
        print(f"\n{'job':40s} {'per':>5s} {'sarle':>10s}" + "".join(
            f" {p:>12s} {'ratio':>7s}" for p in ("pycocotools", "rlemasklib") if p in peers), file=out)
    for job in _jobs(peers):
        items = job["items"](records)
        expected = [job["ways"]["sarle"](x) for x in items]
        for name, fn in job["ways"].items():
            for x, want in zip(items, expected):
                if not _same(fn(x), want):
                    raise RuntimeError(f"{job['name']}: {name} disagrees with sarle")
        samples: Dict[str, List[float]] = {name: [] for name in job["ways"]}
        enabled = gc.isenabled()
        gc.disable()
        try:
            for _ in range(repeat):
                for name, fn in job["ways"].items():
                    samples[name].append(_time(fn, items))
        finally:
            if enabled:
                gc.enable()
        per_item = {name: float(np.median(t)) / len(items) for name, t in samples.items()}
        ratios = {name: per_item[name] / per_item["sarle"] for name in per_item if name != "sarle"}
        results["jobs"].append({"job": job["name"], "unit": job["unit"], "items": len(items),
                                "seconds_per_item": per_item, "sarle_speedup": ratios})
        if out:
            line = f"{job['name']:40s} {job['unit']:>5s} {_us(per_item['sarle']):>10s}"
            for peer in ("pycocotools", "rlemasklib"):
                if peer in per_item:
                    line += f" {_us(per_item[peer]):>12s} {ratios[peer]:6.1f}x"
            print(line, file=out)
    if out:
        print("\nratio = peer time / sarle time (higher: sarle faster). Full benchmark:"
              " benchmarks/bench.py in the source tree.", file=out)
    return results


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-2 else f"{seconds * 1e3:.2f} ms"
