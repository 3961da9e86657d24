"""Run one RLE kernel N times, for instruction counts under valgrind's callgrind.

Wall-clock timings on a shared 2-core machine are noisy; instruction counts are
not. This script loads the masks of one SA-1B JSON file (default: sarle's
bundled 600 x 900 sample), then calls one operation of one library ``--n`` times
over all of them (or one annotation, ``--mask K``), and nothing else. Run it
under callgrind in one of two ways (benchmarks/README.md has the details):

1. Whole-program counts, subtracting a run with ``--n 1`` (imports, loading and
   first-call costs)::

       valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.n1 \\
           python benchmarks/callgrind_decode.py --op decode_C --n 1
       valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.n21 \\
           python benchmarks/callgrind_decode.py --op decode_C --n 21

   (total Ir of the second - total Ir of the first) / 20 = instructions per pass.

2. Only inside the kernel's Python entry point, with ``--toggle-collect``::

       valgrind --tool=callgrind --collect-atstart=no \\
           --toggle-collect='__pyx_pw_5sarle_4_rle_*decode_into' \\
           python benchmarks/callgrind_decode.py --op decode_C --n 20

The script prints how many calls it made, so Ir / calls is per call.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_JSON = os.path.join(HERE, "data", "sa_sample.json")

OPS = ("decode_F", "decode_C", "decode_batch", "encode", "area", "bbox", "iou", "merge")


def make_op(lib, op, rles):
    """Return (fn, arg, calls per pass) doing ``op`` with ``lib`` on ``rles``."""
    if lib == "sarle":
        import sarle as m

        table = {
            "decode_F": lambda: [m.decode(r, order="F", threads=1) for r in rles],
            "decode_C": lambda: [m.decode(r, threads=1) for r in rles],
            "decode_batch": lambda: m.decode(rles, threads=1),
            "encode": lambda: [m.encode(a, threads=1) for a in dense],
            "area": lambda: m.area(rles, threads=1),
            "bbox": lambda: m.bbox(rles, threads=1),
            "iou": lambda: m.iou(rles, rles, threads=1),
            "merge": lambda: m.merge(rles),
        }
        dense = [m.decode(r) for r in rles] if op == "encode" else None
    elif lib == "pycocotools":
        from pycocotools import mask as m

        table = {
            "decode_F": lambda: [m.decode(r) for r in rles],
            "decode_C": lambda: [np.ascontiguousarray(m.decode(r)) for r in rles],
            "decode_batch": lambda: np.ascontiguousarray(m.decode(rles).transpose(2, 0, 1)),
            "encode": lambda: [m.encode(np.asfortranarray(a.view(np.uint8))) for a in dense],
            "area": lambda: m.area(rles),
            "bbox": lambda: m.toBbox(rles),
            "iou": lambda: m.iou(rles, rles, [0] * len(rles)),
            "merge": lambda: m.merge(rles),
        }
        dense = [np.ascontiguousarray(m.decode(r)).view(np.bool_) for r in rles] if op == "encode" else None
    elif lib == "rlemasklib":
        import rlemasklib as m
        from rlemasklib import RLEMask
        from rlemasklib import rlemasklib_cython as cy

        table = {
            "decode_F": lambda: [m.decode(r) for r in rles],
            "decode_C": lambda: [RLEMask.from_dict(r).to_array(order="C") for r in rles],
            "decode_batch": lambda: np.stack([RLEMask.from_dict(r).to_array(order="C") for r in rles]),
            "encode": lambda: [m.encode(a) for a in dense],
            "area": lambda: m.area(rles),
            "bbox": lambda: cy.toBbox(rles),
            "iou": lambda: cy.iou(rles, rles, [0] * len(rles)),
            "merge": lambda: m.union(rles),
        }
        dense = ([RLEMask.from_dict(r).to_array(order="C").view(np.bool_) for r in rles]
                 if op == "encode" else None)
    else:
        raise SystemExit(f"unknown library {lib!r}")
    per_pass = len(rles) if op in ("decode_F", "decode_C", "encode") else 1
    return table[op], per_pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--op", choices=OPS, default="decode_C")
    ap.add_argument("--lib", choices=("sarle", "pycocotools", "rlemasklib"), default="sarle")
    ap.add_argument("--n", type=int, default=10, help="passes over the masks (0: setup only)")
    ap.add_argument("--json", default=DEFAULT_JSON, help="an SA-1B per-image JSON file")
    ap.add_argument("--mask", type=int, default=None, help="use only annotation K")
    args = ap.parse_args(argv)

    with open(args.json) as f:
        image = json.load(f)
    rles = [a["segmentation"] for a in image["annotations"]]
    if args.mask is not None:
        rles = rles[args.mask:args.mask + 1]
    fn, per_pass = make_op(args.lib, args.op, rles)
    if args.n > 0:
        fn()  # warm up (first-call imports, allocator) before the counted passes
    for _ in range(args.n - 1 if args.n > 0 else 0):
        fn()
    h, w = rles[0]["size"]
    print(f"{args.lib} {args.op}: {args.n} passes x {per_pass} calls = {args.n * per_pass} calls "
          f"on {len(rles)} masks of {h}x{w} from {os.path.basename(args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
