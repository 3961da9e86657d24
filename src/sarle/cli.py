"""The ``sarle`` command line.

``sarle demo`` decodes the SA-1B sample bundled with the package (or any
SA-1B per-image JSON), checks the results and prints what it measured.
Errors are one clear line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import resources
from typing import Callable, List, Optional

import numpy as np

from . import __version__, codec

SAMPLE = "sa_sample.json"


def sample_path() -> str:
    """Path of the SA-1B-format sample JSON shipped with the package."""
    return str(resources.files("sarle").joinpath("data", SAMPLE))


def _median_seconds(job: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _demo(path: Optional[str], repeat: int) -> int:
    path = path or sample_path()
    with open(path, "rb") as handle:
        record = json.load(handle)
    image = record["image"]
    annotations = record["annotations"]
    rles = [a["segmentation"] for a in annotations]
    h, w = image["height"], image["width"]
    print(f"sarle {__version__}: {path}")
    print(f"image {image.get('file_name', '?')}: {h}x{w}, {len(rles)} masks")

    masks = codec.decode(rles)
    areas = codec.area(rles)
    boxes = codec.bbox(rles)
    if masks.shape != (len(rles), h, w):
        raise ValueError(f"decoded shape {masks.shape} does not match the image {h}x{w}")
    pixel_areas = masks.reshape(len(rles), -1).sum(axis=1)
    if not np.array_equal(pixel_areas, areas):
        raise ValueError("area() disagrees with the decoded masks")
    stored = np.array([a.get("area", -1) for a in annotations])
    print(f"areas: {int(areas.min())}..{int(areas.max())} px, "
          f"stored 'area' matches decoded: {bool(np.array_equal(stored, areas))}")
    stored_boxes = np.array([a["bbox"] for a in annotations], dtype=np.float64)
    sa1b_convention = np.array_equal(stored_boxes[:, :2], boxes[:, :2]) and np.array_equal(
        stored_boxes[:, 2:], np.maximum(boxes[:, 2:] - 1, 0)
    )
    print(f"stored 'bbox' = toBbox with w, h minus 1 (SA-1B convention): {sa1b_convention}")
    reencoded = codec.encode(masks)
    same = all(r["counts"] == e["counts"] for r, e in zip(rles, reencoded))
    print(f"re-encoding gives the stored strings: {same}")
    ious = codec.iou(rles, rles)
    off_diagonal = ious[~np.eye(len(rles), dtype=bool)]
    print(f"IoU {len(rles)}x{len(rles)}: max off-diagonal {off_diagonal.max():.3f}")

    jobs = [
        ("decode all masks -> (n, h, w) C bool", lambda: codec.decode(rles)),
        ("decode all into a reused buffer", lambda: codec.decode(rles, out=masks)),
        ("encode all masks from C order", lambda: codec.encode(masks)),
        ("area of all masks", lambda: codec.area(rles)),
        ("bbox of all masks", lambda: codec.bbox(rles)),
        (f"IoU {len(rles)}x{len(rles)}", lambda: codec.iou(rles, rles)),
    ]
    print(f"\ntimings (median of {repeat}, one thread):")
    for name, job in jobs:
        seconds = _median_seconds(job, repeat)
        print(f"  {name:40s} {seconds * 1e3:9.3f} ms  {seconds * 1e6 / len(rles):8.1f} us/mask")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sarle", description="Fast, safe COCO RLE masks for SA-1B."
    )
    parser.add_argument("--version", action="version", version=f"sarle {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="decode an SA-1B image JSON (default: the bundled sample), check, time"
    )
    demo.add_argument("path", nargs="?", help="SA-1B per-image JSON (default: bundled sample)")
    demo.add_argument("--repeat", type=int, default=20, help="timing repeats (median)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args.path, max(1, args.repeat))
    except (OSError, ValueError, TypeError, KeyError) as error:
        print(f"sarle {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
