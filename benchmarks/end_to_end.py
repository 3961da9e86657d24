"""End to end on one core: read SA-1B JSON files, decode every image's masks, touch every byte.

    python benchmarks/end_to_end.py [--images 3] [--repeat 5] [--corpus DIR]

For each image: ``json.load`` the per-image file, decode all masks to an
``(n, h, w)`` C-order bool array with ``threads=1``, then ``np.count_nonzero``
over it, so every output byte is read. Three ways, reported as masks per hour:

* ``fresh``: a new array per image, each dropped before the next decode, so
  sarle's output pool hands the dropped array's memory to the next one
  (``set_output_pool_limit``);
* ``fresh, pool off``: the same with the pool turned off, so every array is
  new memory from numpy (``np.zeros``: untouched background pages cost
  nothing until read, each page written is faulted in and cleared);
* ``reuse``: one flat buffer, allocated and written once before timing, as
  large as the largest image's masks, viewed as each image's ``(n, h, w)`` and
  passed as ``out=`` (every byte is written, since the buffer holds the
  previous image).

Three floors for ``reuse`` are timed the same way, with no JSON and no
decoding: each image's part of the buffer filled with zeros, or with ones,
then ``np.count_nonzero`` over it (on the AMD bench machine a fill of zeros
wrote about three times as fast as a fill of ones; ``fill`` uses plain
stores, which on some machines cost twice sarle's non-temporal ones), and
``np.count_nonzero`` alone: what reading the output costs, a bound for any
decoder.

The corpus is written to a temporary folder first (``benchmarks/corpus.py``,
seed 0) unless ``--corpus`` names a folder of real ``sa_*.json`` files.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

import sarle

HERE = os.path.dirname(os.path.abspath(__file__))


def corpus_files(images: int, folder: str | None) -> list[str]:
    if folder:
        return sorted(glob.glob(os.path.join(folder, "sa_*.json")))[:images]
    sys.path.insert(0, HERE)
    import corpus

    out = tempfile.mkdtemp(prefix="sarle-e2e-")
    paths = []
    for i, record in enumerate(corpus.make_corpus(images, seed=0)):
        path = os.path.join(out, f"sa_{i}.json")
        with open(path, "w") as handle:
            json.dump(record, handle)
        paths.append(path)
    return paths


def batch_shapes(paths: list[str]) -> list[tuple[int, int, int]]:
    """Each image's (n, h, w), for the images with masks."""
    shapes = []
    for path in paths:
        with open(path, "rb") as handle:
            anns = json.load(handle)["annotations"]
        if anns:
            shapes.append((len(anns), *anns[0]["segmentation"]["size"]))
    return shapes


def reuse_buffer(shapes: list[tuple[int, int, int]]) -> np.ndarray:
    """One flat bool buffer as large as the largest image's (n, h, w), every page
    already written: what a loader keeps across images of different sizes."""
    return np.ones(max((n * h * w for n, h, w in shapes), default=0), dtype=bool)


def floor_pass(shapes: list[tuple[int, int, int]], buffer: np.ndarray,
               value: bool | None) -> tuple[float, int]:
    """Fill each image's part of ``buffer`` with ``value`` (None: leave it) and count it:
    no JSON, no decode."""
    masks = 0
    start = time.perf_counter()
    for shape in shapes:
        out = buffer[: shape[0] * shape[1] * shape[2]].reshape(shape)
        if value is not None:
            out.fill(value)
        np.count_nonzero(out)
        masks += shape[0]
    return time.perf_counter() - start, masks


def one_pass(paths: list[str], buffer: np.ndarray | None) -> tuple[float, int]:
    masks = 0
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as handle:
            record = json.load(handle)
        rles = [a["segmentation"] for a in record["annotations"]]
        if not rles:
            continue
        shape = (len(rles), *rles[0]["size"])
        if buffer is not None:
            out = buffer[: shape[0] * shape[1] * shape[2]].reshape(shape)
            decoded = sarle.decode(rles, out=out, threads=1)
        else:
            decoded = sarle.decode(rles, threads=1)
        np.count_nonzero(decoded)
        masks += len(rles)
    return time.perf_counter() - start, masks


def without_output_pool(run):
    """``run()`` with sarle's output pool off, then back at its limit."""
    limit = sarle.set_output_pool_limit(0)
    try:
        return run()
    finally:
        sarle.set_output_pool_limit(limit)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", help="folder of real SA-1B sa_*.json files")
    args = parser.parse_args(argv)
    paths = corpus_files(args.images, args.corpus)
    print(f"# {len(paths)} images; sarle {sarle.__version__}, numpy {np.__version__}")
    shapes = batch_shapes(paths)
    buffer = reuse_buffer(shapes)
    runs = [("fresh arrays", lambda: one_pass(paths, None)),
            ("fresh, pool off", lambda: without_output_pool(lambda: one_pass(paths, None))),
            ("reuse (out=)", lambda: one_pass(paths, buffer)),
            ("floor: zeros", lambda: floor_pass(shapes, buffer, False)),
            ("floor: ones", lambda: floor_pass(shapes, buffer, True)),
            ("floor: count", lambda: floor_pass(shapes, buffer, None))]
    for name, run in runs:
        times = []
        for _ in range(args.repeat):
            seconds, masks = run()
            times.append(seconds)
        seconds = statistics.median(times)
        print(f"{name:15s} {masks / seconds * 3600 / 1e6:6.1f} M masks/hour/core "
              f"({seconds / masks * 1e3:.3f} ms per mask, median of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
