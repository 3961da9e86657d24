"""Regenerate ``tests/data/golden.json``: COCO RLE strings and results made by pycocotools.

Run from the repository root with pycocotools installed (the version is pinned in
``pyproject.toml``'s ``test`` extra)::

    python tests/data/make_golden.py

The output is deterministic (seeded) and frozen into the repository; the tests that
read it (``tests/test_golden.py``) do not need pycocotools. Each entry records the
pycocotools version that produced it.

Every value pycocotools produces is cross-checked here against an independent plain
Python/numpy computation (a string parser, run lengths, pixel counts, boxes, IoUs and
merges from dense masks). An entry where pycocotools disagrees is a case it gets wrong
(see ``NOTES.md``) and is left out, never frozen; the script fails loudly instead if that
happens, so a new pycocotools cannot sneak a wrong answer into the fixtures. Cases that
are known to hit pycocotools bugs are never generated at all: values of 2**29 or more in
the string (mis-decoded by its 32-bit shifts), interior zero-length runs (non-canonical
strings and truncated merges), merges of 0-pixel masks (empty counts), sizes whose masks
differ inside one IoU matrix (-1), and more than 255 masks per ``area`` call.

File layout (one entry per line, to keep diffs readable)::

    {"format": 1, "generator": ..., "pycocotools": "2.0.11", "numpy": ..., "seed": ...,
     "masks": [{"name", "pycocotools", "size": [h, w], "counts": str, "area": int,
                "bbox": [x, y, w, h], "dense": bool, "runs": [int, ...] (only if not dense)}],
     "iou":   [{"name", "pycocotools", "dt": [mask index], "gt": [mask index],
                "iscrowd": [0|1] | null, "iou": [[float]] (len(dt) x len(gt))}],
     "merge": [{"name", "pycocotools", "rles": [mask index], "intersect": bool,
                "size": [h, w], "counts": str, "area": int}]}

``dense`` is false for masks too large to decode in a test (long runs up to 2**29 - 1);
their canonical run lengths are stored in ``runs`` instead.
"""

from __future__ import annotations

import importlib.metadata
import json
import pathlib
import sys

import numpy as np
import pycocotools.mask as cocomask

SEED = 20240601
DENSE_LIMIT = 1 << 22  # masks with more pixels are checked from their runs only
VALUE_LIMIT = 1 << 29  # pycocotools mis-decodes string values of this magnitude or more
OUT = pathlib.Path(__file__).with_name("golden.json")
PYCOCOTOOLS = importlib.metadata.version("pycocotools")

# Run lengths and deltas at the edges of the 5-bit groups: a value needs one more
# character when it crosses +-16, +-512, +-16384, +-2**19, +-2**24 (sign bit 0x10).
BOUNDARIES = [
    1, 2, 15, 16, 17, 31, 32, 33, 511, 512, 513, 1023, 1024, 1025,
    16383, 16384, 16385, 32767, 32768, 32769,
    (1 << 19) - 1, 1 << 19, (1 << 19) + 1,
    (1 << 24) - 1, 1 << 24, (1 << 24) + 1,
    (1 << 28) + 12345, VALUE_LIMIT - 5000,
]


# ----------------------------------------------------------------------------------
# Independent reference: plain Python / numpy, no pycocotools.


def parse_counts(s: str) -> tuple[list[int], list[int]]:
    """Parse a COCO string into (decoded values x, run lengths). Strict."""
    values, runs, pos = [], [], 0
    while pos < len(s):
        x, shift = 0, 0
        while True:
            c = ord(s[pos]) - 48
            assert 0 <= c < 64, (s, pos)
            x |= (c & 0x1F) << shift
            shift += 5
            pos += 1
            if not c & 0x20:
                if c & 0x10:
                    x -= 1 << shift
                break
            assert pos < len(s), "truncated"
        values.append(x)
        if len(runs) > 2:
            x += runs[-2]
        assert x >= 0
        runs.append(x)
    return values, runs


def mask_runs(mask: np.ndarray) -> list[int]:
    """Canonical column-major run lengths of a 2-D mask (background first)."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return [0]
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(edges).tolist()
    if flat[0]:
        runs.insert(0, 0)
    return runs


def runs_bbox(runs: list[int], h: int) -> list[float]:
    """[x, y, w, h] like pycocotools toBbox, from runs (no dense mask)."""
    xs = ys = None
    xe = ye = -1
    pos = 0
    for j, r in enumerate(runs):
        start, pos = pos, pos + r
        if j % 2 == 0 or r == 0:
            continue
        x0, y0 = divmod(start, h)
        x1, y1 = divmod(pos - 1, h)
        if x0 < x1:
            y0, y1 = 0, h - 1
        xs = x0 if xs is None else min(xs, x0)
        ys = y0 if ys is None else min(ys, y0)
        xe, ye = max(xe, x1), max(ye, y1)
    if xs is None:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs), float(ys), float(xe - xs + 1), float(ye - ys + 1)]


def runs_to_mask(runs: list[int], h: int, w: int) -> np.ndarray:
    flat = np.repeat(np.arange(len(runs)) % 2 == 1, runs)
    return flat.reshape((w, h)).T


# ----------------------------------------------------------------------------------
# Case builders.

rng = np.random.default_rng(SEED)
masks: list[dict] = []
dense_of: list[np.ndarray | None] = []
skipped: list[str] = []


def _check_and_add(name: str, size: list[int], counts: bytes, runs: list[int],
                   mask: np.ndarray | None) -> int:
    h, w = size
    s = counts.decode("ascii")
    values, parsed = parse_counts(s)
    assert max((abs(v) for v in values), default=0) < VALUE_LIMIT, name
    if h * w == 0:
        assert parsed == [0], (name, s)
    else:
        assert parsed == runs, (name, s, parsed, runs)
        assert all(r > 0 for r in runs[1:]), name
    rle = {"size": [h, w], "counts": counts}
    area = int(cocomask.area([rle])[0])
    bbox = cocomask.toBbox([rle])[0].tolist()
    want_area = sum(runs[1::2])
    want_bbox = runs_bbox(runs, h) if h * w else [0.0, 0.0, 0.0, 0.0]
    if area != want_area or bbox != want_bbox:
        skipped.append(f"{name}: pycocotools area/bbox {area} {bbox}, expected {want_area} {want_bbox}")
        return -1
    if mask is not None:
        dec = cocomask.decode(rle)
        if dec.shape != (h, w) or not np.array_equal(dec.astype(bool), mask):
            skipped.append(f"{name}: pycocotools decode differs")
            return -1
    entry = {"name": name, "pycocotools": PYCOCOTOOLS, "size": [h, w], "counts": s,
             "area": area, "bbox": bbox, "dense": h * w <= DENSE_LIMIT}
    if not entry["dense"]:
        entry["runs"] = runs
    masks.append(entry)
    dense_of.append(mask if entry["dense"] else None)
    return len(masks) - 1


def add_mask(name: str, mask: np.ndarray) -> int:
    """Encode a dense 2-D mask with pycocotools.encode."""
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    rle = cocomask.encode(np.asfortranarray(mask[:, :, None].astype(np.uint8)))[0]
    assert rle["size"] == [h, w]
    return _check_and_add(name, [h, w], rle["counts"], mask_runs(mask), mask)


def add_runs(name: str, runs: list[int], h: int) -> int:
    """Encode canonical run lengths with pycocotools (frPyObjects of an uncompressed RLE).

    The final background run is padded so the runs fill whole columns of height h.
    """
    runs = [int(r) for r in runs]
    assert all(r > 0 for r in runs[1:]), runs
    total = sum(runs)
    w = -(-total // h)
    pad = h * w - total
    if pad:
        if len(runs) % 2:  # last run is background
            runs[-1] += pad
        else:
            runs.append(pad)
    assert h * w < 1 << 31
    rle = cocomask.frPyObjects({"size": [h, w], "counts": runs}, h, w)
    mask = runs_to_mask(runs, h, w) if h * w <= DENSE_LIMIT else None
    return _check_and_add(name, [h, w], rle["counts"], runs, mask)


def disk(h: int, w: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    y, x = np.ogrid[:h, :w]
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0


def blob(h: int, w: int, k: int) -> np.ndarray:
    """Union of k random ellipses and rectangles, minus a random hole."""
    m = np.zeros((h, w), bool)
    for _ in range(k):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(1, h / 3 + 1), rng.uniform(1, w / 3 + 1)
        if rng.random() < 0.7:
            m |= disk(h, w, cy, cx, ry, rx)
        else:
            m[int(max(cy - ry, 0)):int(cy + ry), int(max(cx - rx, 0)):int(cx + rx)] = True
    if rng.random() < 0.5:
        m &= ~disk(h, w, rng.uniform(0, h), rng.uniform(0, w), h / 8 + 1, w / 8 + 1)
    return m


def checker(h: int, w: int, block: int = 1, phase: int = 0) -> np.ndarray:
    y, x = np.indices((h, w))
    return ((y // block + x // block + phase) % 2).astype(bool)


# -- degenerate and tiny shapes ------------------------------------------------------
for shape in [(0, 0), (0, 1), (1, 0), (0, 5), (5, 0), (0, 1500), (2250, 0)]:
    add_mask(f"zero-size {shape[0]}x{shape[1]}", np.zeros(shape, bool))
add_mask("1x1 empty", np.zeros((1, 1), bool))
add_mask("1x1 full", np.ones((1, 1), bool))
for n in (2, 3, 7, 16, 17, 31, 100):
    for shape in [(1, n), (n, 1)]:
        tag = f"{shape[0]}x{shape[1]}"
        add_mask(f"{tag} empty", np.zeros(shape, bool))
        add_mask(f"{tag} full", np.ones(shape, bool))
        add_mask(f"{tag} random", rng.random(shape) < 0.5)
        add_mask(f"{tag} alternating", checker(*shape))
        add_mask(f"{tag} alternating first-run-0", checker(*shape, phase=1))
        if n > 2:
            m = np.zeros(shape, bool)
            m.flat[n // 2] = True
            add_mask(f"{tag} middle pixel", m)
            m = np.zeros(shape, bool)
            m.flat[-1] = True
            add_mask(f"{tag} last pixel", m)

# -- empty / full / corners / first run 0 -------------------------------------------
for shape in [(2, 3), (3, 2), (17, 13), (64, 64), (250, 1), (480, 640)]:
    h, w = shape
    tag = f"{h}x{w}"
    add_mask(f"{tag} empty", np.zeros(shape, bool))
    add_mask(f"{tag} full", np.ones(shape, bool))
    for cy, cx in sorted({(0, 0), (h - 1, 0), (0, w - 1), (h - 1, w - 1)}):
        m = np.zeros(shape, bool)
        m[cy, cx] = True
        add_mask(f"{tag} pixel ({cy},{cx})", m)
    m = np.ones(shape, bool)
    m[h - 1, w - 1] = False
    add_mask(f"{tag} full but last pixel", m)
    m = np.ones(shape, bool)
    m[0, 0] = False
    add_mask(f"{tag} full but first pixel", m)
for i in range(10):
    h, w = int(rng.integers(2, 60)), int(rng.integers(2, 60))
    m = blob(h, w, 3)
    m[0, 0] = True
    add_mask(f"first-run-0 blob {i} {h}x{w}", m)

# -- runs and deltas at the 5-bit group boundaries ----------------------------------
# Values 0..2 are written raw, later ones as deltas cnts[i] - cnts[i-2].


def string_values(runs: list[int]) -> list[int]:
    """The signed values the COCO string stores for these runs."""
    return [r - runs[i - 2] if i > 2 else r for i, r in enumerate(runs)]


for v in BOUNDARIES:
    h = 1 if v < 64 else (64 if v < 1 << 16 else 4096)
    for name, runs in [
        (f"raw bg run {v}", [v, 3, 5]),
        (f"raw fg run {v}", [2, v, 5]),
        (f"raw first-run-0 fg {v}", [0, v, 4, 2]),
        (f"raw third run {v}", [1, 2, v, 1]),
        (f"delta +{v}", [3, 4, 5, 4 + v, 6, 1]),
        (f"delta -{v}", [3, 2 + v, 5, 2, 6, 1]),
        (f"delta +{v} on bg", [3, 4, 5, 6, 5 + v, 1]),
        (f"delta -{v} on bg", [3, 4, 5 + v, 6, 5, 1]),
    ]:
        # the largest boundary only fits where it is the sole big value
        if max(abs(x) for x in string_values(runs)) < VALUE_LIMIT - h:
            add_runs(name, runs, h)
# runs exactly at the boundary values with zero delta and repeated runs
for v in (16, 512, 16384):
    add_runs(f"repeated runs {v}", [v] * 9, 128)
    add_runs(f"alternating {v - 1}/{v}", [v - 1, v] * 6, 128)

# -- long runs ----------------------------------------------------------------------
add_runs("long: one fg run 900000 in 1000x1000", [50000, 900000, 50000], 1000)
add_runs("long: first-run-0 4M", [0, 4_000_000, 194_304], 2048)
add_runs("long: 2**24 fg run, non-dense", [7, 1 << 24, 100], 4096)
add_runs("long: 2**28 runs, non-dense", [1 << 28, 5, (1 << 28) - 3, 9], 16384)
add_runs("long: spans columns, bbox ys=0", [5, 20, 7], 10)

# -- random blobs ---------------------------------------------------------------------
for i, (h, w) in enumerate([(8, 8), (16, 17), (33, 31), (48, 64), (64, 48), (100, 80),
                            (120, 160), (200, 300), (240, 320), (427, 640)]):
    for j in range(3):
        add_mask(f"blob {h}x{w} #{j}", blob(h, w, int(rng.integers(1, 6))))

# -- thin lines -------------------------------------------------------------------------
for h, w in [(16, 16), (31, 47), (100, 100), (480, 640)]:
    tag = f"{h}x{w}"
    for name, sl in [("row 0", np.s_[0, :]), ("last row", np.s_[h - 1, :]),
                     ("middle row", np.s_[h // 2, 1:-1]), ("column 0", np.s_[:, 0]),
                     ("last column", np.s_[:, w - 1]), ("middle column", np.s_[1:-1, w // 2])]:
        m = np.zeros((h, w), bool)
        m[sl] = True
        add_mask(f"{tag} line {name}", m)
    m = np.zeros((h, w), bool)
    k = min(h, w)
    m[np.arange(k), np.arange(k)] = True
    add_mask(f"{tag} diagonal", m)
    m = np.zeros((h, w), bool)
    m[np.arange(k), w - 1 - np.arange(k)] = True
    add_mask(f"{tag} anti-diagonal", m)
    m = np.ones((h, w), bool)
    m[1:-1, 1:-1] = False
    add_mask(f"{tag} frame", m)

# -- checkerboards ------------------------------------------------------------------------
for h, w, block in [(8, 8, 1), (15, 17, 1), (64, 64, 1), (64, 64, 2), (33, 65, 3),
                    (100, 100, 10), (31, 1, 1), (1, 31, 1)]:
    for phase in (0, 1):
        add_mask(f"checker {h}x{w} block {block} phase {phase}", checker(h, w, block, phase))

# -- noise --------------------------------------------------------------------------------
for h, w in [(4, 4), (16, 16), (33, 31), (100, 80)]:
    for p in (0.02, 0.1, 0.5, 0.9, 0.98):
        add_mask(f"noise {h}x{w} p={p}", rng.random((h, w)) < p)

# -- SA-1B-sized (1500 x 2250 and portrait) --------------------------------------------
H, W = 1500, 2250
sa = {}
sa["ellipse"] = add_mask("sa1b 1500x2250 ellipse", disk(H, W, 700.3, 1100.7, 400.2, 650.9))
sa["ellipse2"] = add_mask("sa1b 1500x2250 ellipse overlapping",
                          disk(H, W, 900.5, 1400.2, 500.1, 500.3))
m = disk(H, W, 400, 500, 250, 300) | disk(H, W, 1000, 1700, 300, 450)
m[200:1300, 1000:1100] = True
m &= ~disk(H, W, 1000, 1700, 80, 120)
sa["blob"] = add_mask("sa1b 1500x2250 two blobs with hole", m)
sa["small"] = add_mask("sa1b 1500x2250 small object", disk(H, W, 1480, 30, 25, 40))
sa["empty"] = add_mask("sa1b 1500x2250 empty", np.zeros((H, W), bool))
sa["full"] = add_mask("sa1b 1500x2250 full", np.ones((H, W), bool))
add_mask("sa1b 2250x1500 portrait ellipse", disk(W, H, 1100, 700, 800, 500))

# -- IoU matrices ---------------------------------------------------------------------------


def np_iou(dt: list[int], gt: list[int], iscrowd: list[int] | None) -> list[list[float]]:
    out = []
    for d in dt:
        row = []
        a = dense_of[d]
        for j, g in enumerate(gt):
            b = dense_of[g]
            inter = int(np.count_nonzero(a & b))
            union = int(np.count_nonzero(a)) if iscrowd and iscrowd[j] else int(np.count_nonzero(a | b))
            row.append(inter / union if inter else 0.0)
        out.append(row)
    return out


ious: list[dict] = []


def add_iou(name: str, dt: list[int], gt: list[int], iscrowd: list[int] | None) -> None:
    assert -1 not in dt + gt
    sizes = {tuple(masks[i]["size"]) for i in dt + gt}
    assert len(sizes) == 1, name
    got = cocomask.iou([{"size": masks[i]["size"], "counts": masks[i]["counts"].encode()} for i in dt],
                       [{"size": masks[i]["size"], "counts": masks[i]["counts"].encode()} for i in gt],
                       [int(c) for c in iscrowd] if iscrowd is not None else [0] * len(gt))
    got = np.asarray(got, dtype=np.float64).reshape(len(dt), len(gt)).tolist()
    want = np_iou(dt, gt, iscrowd)
    if got != want:
        skipped.append(f"iou {name}: pycocotools {got} != {want}")
        return
    ious.append({"name": name, "pycocotools": PYCOCOTOOLS, "dt": dt, "gt": gt,
                 "iscrowd": iscrowd, "iou": got})


def group(h: int, w: int, n: int, tag: str) -> list[int]:
    """n related masks of one size: blobs, one shifted copy, one subset, empty and full."""
    base = blob(h, w, 3)
    idx = [add_mask(f"iou {tag} base", base)]
    idx.append(add_mask(f"iou {tag} shifted", np.roll(base, (h // 10 + 1, w // 7 + 1), (0, 1))))
    idx.append(add_mask(f"iou {tag} subset", base & checker(h, w, max(h // 8, 1))))
    idx.append(add_mask(f"iou {tag} empty", np.zeros((h, w), bool)))
    idx.append(add_mask(f"iou {tag} full", np.ones((h, w), bool)))
    while len(idx) < n:
        idx.append(add_mask(f"iou {tag} blob {len(idx)}", blob(h, w, int(rng.integers(1, 5)))))
    return idx


for h, w, n in [(40, 30, 9), (64, 48, 12), (120, 160, 10)]:
    idx = group(h, w, n, f"{h}x{w}")
    dt, gt = idx[: n // 2 + 1], idx[n // 2 - 1:]
    add_iou(f"{h}x{w} {len(dt)}x{len(gt)}", dt, gt, None)
    add_iou(f"{h}x{w} {len(dt)}x{len(gt)} no crowd listed", dt, gt, [0] * len(gt))
    crowd = [int(v) for v in rng.random(len(gt)) < 0.5]
    crowd[0], crowd[-1] = 1, 0
    add_iou(f"{h}x{w} {len(dt)}x{len(gt)} crowd", dt, gt, crowd)
    add_iou(f"{h}x{w} all-vs-all all crowd", idx, idx, [1] * len(idx))
    add_iou(f"{h}x{w} 1x1 self", idx[:1], idx[:1], None)
    add_iou(f"{h}x{w} subset in crowd", [idx[2]], [idx[0]], [1])
sa_idx = [sa["ellipse"], sa["ellipse2"], sa["blob"], sa["small"], sa["empty"], sa["full"]]
add_iou("sa1b 6x6", sa_idx, sa_idx, None)
add_iou("sa1b 6x6 crowd", sa_idx, sa_idx, [1, 0, 1, 0, 1, 0])

# -- merges --------------------------------------------------------------------------------------

merges: list[dict] = []


def add_merge(name: str, idx: list[int], intersect: bool) -> None:
    assert -1 not in idx
    size = masks[idx[0]]["size"]
    assert all(masks[i]["size"] == size for i in idx) and size[0] * size[1] > 0
    got = cocomask.merge([{"size": size, "counts": masks[i]["counts"].encode()} for i in idx],
                         intersect=int(intersect))
    want = dense_of[idx[0]].copy()
    for i in idx[1:]:
        want = want & dense_of[i] if intersect else want | dense_of[i]
    canonical = cocomask.encode(np.asfortranarray(want[:, :, None].astype(np.uint8)))[0]["counts"]
    if got["counts"] != canonical or got["size"] != size:
        skipped.append(f"merge {name}: pycocotools {got['counts']!r} != {canonical!r}")
        return
    merges.append({"name": name, "pycocotools": PYCOCOTOOLS, "rles": idx, "intersect": intersect,
                   "size": size, "counts": got["counts"].decode("ascii"),
                   "area": int(np.count_nonzero(want))})


for h, w, n in [(17, 13, 6), (64, 48, 8), (100, 80, 7)]:
    idx = group(h, w, n, f"merge {h}x{w}")
    first0 = blob(h, w, 2)
    first0[0, 0] = True
    idx.append(add_mask(f"merge {h}x{w} first-run-0", first0))
    idx.append(add_mask(f"merge {h}x{w} checker", checker(h, w)))
    for intersect in (False, True):
        op = "intersection" if intersect else "union"
        add_merge(f"{h}x{w} {op} single", idx[:1], intersect)
        add_merge(f"{h}x{w} {op} pair", idx[:2], intersect)
        add_merge(f"{h}x{w} {op} with subset", [idx[0], idx[2]], intersect)
        add_merge(f"{h}x{w} {op} with empty", [idx[0], idx[3]], intersect)
        add_merge(f"{h}x{w} {op} with full", [idx[4], idx[1]], intersect)
        add_merge(f"{h}x{w} {op} first-run-0 pair", [idx[-2], idx[0]], intersect)
        add_merge(f"{h}x{w} {op} checker and blob", [idx[-1], idx[1]], intersect)
        add_merge(f"{h}x{w} {op} all", idx, intersect)
        add_merge(f"{h}x{w} {op} reversed", idx[::-1], intersect)
for intersect in (False, True):
    op = "intersection" if intersect else "union"
    add_merge(f"sa1b {op} ellipses", [sa["ellipse"], sa["ellipse2"]], intersect)
    add_merge(f"sa1b {op} four", [sa["ellipse"], sa["ellipse2"], sa["blob"], sa["small"]], intersect)

# ------------------------------------------------------------------------------------------------

if skipped:
    sys.exit("pycocotools disagreed with the reference on:\n  " + "\n  ".join(skipped))
assert -1 not in [i for e in ious for i in e["dt"] + e["gt"]]
names = [m["name"] for m in masks]
dups = sorted({n for n in names if names.count(n) > 1})
assert not dups, f"mask names must be unique: {dups}"

meta = {"format": 1, "generator": "tests/data/make_golden.py", "pycocotools": PYCOCOTOOLS,
        "numpy": np.__version__, "seed": SEED}
lines = ["{", *(f" {json.dumps(k)}: {json.dumps(v)}," for k, v in meta.items())]
for key, items in [("masks", masks), ("iou", ious), ("merge", merges)]:
    lines.append(f' "{key}": [')
    lines.append(",\n".join("  " + json.dumps(e, separators=(", ", ": ")) for e in items))
    lines.append(" ]," if key != "merge" else " ]")
lines.append("}")
OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
print(f"wrote {OUT}: {len(masks)} masks, {len(ious)} IoU matrices, {len(merges)} merges, "
      f"{OUT.stat().st_size} bytes")
