"""Print the README's benchmark tables (markdown) from a ``bench.py --json`` file.

    python benchmarks/bench.py --json bench.json
    python benchmarks/readme_table.py bench.json
"""

import json
import sys

LIBS = ("sarle", "pycocotools", "rlemasklib")
DESCRIPTIONS = {
    "decode_F": "decode one mask → F-order",
    "decode_C": "decode one mask → C-order bool",
    "decode_C_touch": "decode one mask → C-order, every page then read",
    "decode_batch": "decode an image → (n, h, w) C bool",
    "decode_batch_touch": "same, every page then read",
    "decode_batch_out": "decode an image into a reused (n, h, w) C bool (`out=`)",
    "decode_batch_2threads": "decode an image → (n, h, w) C bool, `threads=2`",
    "decode_1024": "decode an image at 1024 px long side → (n, h2, w2) C bool",
    "decode_1024_touch": "same, every page then read",
    "encode": "encode a C-order bool mask",
    "encode_batch": "encode an image's masks from one (n, h, w) C bool array",
    "area": "area of an image's masks",
    "bbox": "bbox of an image's masks",
    "iou": "IoU n×n of an image's masks",
    "merge": "union of an image's masks",
    "merge_pair": "union of two masks",
    "label_map": "label map of an image's masks",
    "parse": "parse an image's counts to runs (IoU/merge front end)",
}


def micros(ns):
    if ns is None:
        return "–"
    us = ns / 1000
    return f"{us:,.0f}" if us >= 100 else f"{us:.1f}"


def ratio(peer, ours):
    return "–" if peer is None or not ours else f"{peer / ours:.1f}×"


def main(path):
    with open(path) as handle:
        doc = json.load(handle)
    print("| job | per | sarle µs | pycocotools µs | rlemasklib µs | vs pycocotools | vs rlemasklib |")
    print("|---|---|--:|--:|--:|--:|--:|")
    floors = []
    parse_rate = None
    for job in doc["jobs"]:
        ns = {lib: job["libs"].get(lib, {}).get("ns_per_op") for lib in LIBS}
        print(f"| {DESCRIPTIONS.get(job['job'], job['job'])} | {job['unit']} | "
              f"{micros(ns['sarle'])} | {micros(ns['pycocotools'])} | {micros(ns['rlemasklib'])} | "
              f"{ratio(ns['pycocotools'], ns['sarle'])} | {ratio(ns['rlemasklib'], ns['sarle'])} |")
        if job["job"] == "parse" and ns["sarle"]:
            parse_rate = job["pixels_per_op"] / ns["sarle"]   # characters per ns = GB/s
        if job.get("floor_ns_per_op") and ns["sarle"]:
            floors.append((job, ns["sarle"]))
    if parse_rate:
        print()
        print(f"Counts parsed to runs at {parse_rate:.2f} GB/s (the parse job: one kernel call for an image's masks, gathering the counts included).")
    refs = [job for job in doc["jobs"] if job.get("reference")]
    if refs:
        print()
        print("| job | reported way | µs | reference way (timed alongside) | µs | reference ÷ reported |")
        print("|---|---|--:|---|--:|--:|")
        for job in refs:
            for lib, ways in job["reference"].items():
                rep = job["libs"].get(lib, {})
                for way, r in ways.items():
                    print(f"| {DESCRIPTIONS.get(job['job'], job['job'])} | {lib} `{rep.get('way', '–')}` | "
                          f"{micros(rep.get('ns_per_op'))} | {lib} `{way}` | {micros(r['ns_per_op'])} | "
                          f"{ratio(r['ns_per_op'], rep.get('ns_per_op'))} |")
    print()
    print("| job | sarle GB/s written (encode: read) | floor µs (the output written as zeros: memset, or by non-temporal stores for `batch_stream`; encode: one read of the mask) | sarle ÷ floor |")
    print("|---|--:|--:|--:|")
    for job, ns in floors:
        floor = job["floor_ns_per_op"]
        print(f"| {DESCRIPTIONS.get(job['job'], job['job'])} | {job['pixels_per_op'] / ns:.1f} | "
              f"{micros(floor)} ({job['floor_kind']}) | {ns / floor:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1])
