"""A seeded, synthetic SA-1B-like corpus for sarle's benchmarks.

SA-1B ships one JSON file per image, about 100 masks per image, images about
1500 px on the short side. This module draws images of that kind from a seed
and writes them in SA-1B's exact per-image format::

    {"image": {"image_id", "width", "height", "file_name"},
     "annotations": [{"id", "segmentation": {"size": [h, w], "counts": str},
                      "bbox", "area", "predicted_iou", "point_coords",
                      "stability_score", "crop_box"}, ...]}

``bbox`` follows SA-1B's convention (``toBbox`` with width and height one
less, ``[0, 0, 0, 0]`` for an empty mask); ``area`` is the pixel count.

The masks mix the shapes that make RLE workloads differ: ellipses of every
size, random polygons, rings and thick polylines, shapes with holes, textured
(noisy) regions with up to ~25 000 runs, masks made of many fragments,
tiny masks of a few pixels, huge "ground"/"background" masks, and one empty
and one full mask per image. Relative sizes are log-uniform, so most masks
are small and a few are huge, as in SA-1B.

Everything is vectorised numpy (no OpenCV); an image takes about half a second.
Masks are encoded with ``sarle.encode`` when sarle is importable, else with
``pycocotools.mask.encode`` (the strings are identical).

Usage::

    python benchmarks/corpus.py --images 3 --seed 0 --out DIR
    python benchmarks/corpus.py --sample benchmarks/data/sa_sample.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np

#: (height, width) of the images; SA-1B images are ~1500 px on the short side.
IMAGE_SHAPES = ((1500, 2250), (2250, 1500), (1500, 2000), (2000, 1500))

#: Mask kinds and their weights in an image (empty and full are added once each).
KINDS = {
    "ellipse": 0.22,
    "polygon": 0.24,
    "holes": 0.09,
    "ring": 0.05,
    "lines": 0.06,
    "texture": 0.08,
    "fragments": 0.06,
    "tiny": 0.08,
    "large": 0.12,
}

# --------------------------------------------------------------------------- encoders

def _pick_encoder():
    """Return (name, encode) where encode maps an (h, w) uint8 mask to a str."""
    try:
        import sarle

        def enc(mask):
            return sarle.encode(mask)["counts"]

        return "sarle", enc
    except ImportError:
        from pycocotools import mask as mask_utils

        def enc(mask):
            counts = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))["counts"]
            return counts.decode("ascii")

        return "pycocotools", enc


# --------------------------------------------------------------------------- rasterisers
# Each shape is drawn into a window (y0, x0, local bool array) clipped to the image;
# _paste ORs it into the full mask.

def _window(cy, cx, ry, rx, h, w):
    """Clip the box centred at (cy, cx) with half-sizes (ry, rx); None if empty."""
    y0, y1 = max(0, int(math.floor(cy - ry))), min(h, int(math.ceil(cy + ry)) + 1)
    x0, x1 = max(0, int(math.floor(cx - rx))), min(w, int(math.ceil(cx + rx)) + 1)
    if y0 >= y1 or x0 >= x1:
        return None
    return y0, y1, x0, x1


def _grid(y0, y1, x0, x1):
    """Open grids of pixel-centre coordinates for a window."""
    yy = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
    xx = np.arange(x0, x1, dtype=np.float64)[None, :] + 0.5
    return yy, xx


def _ellipse(cy, cx, a, b, theta, h, w, scale=1.0):
    """Rotated filled ellipse (semi-axes a along theta, b across), scaled by ``scale``."""
    a, b = a * scale, b * scale
    r = max(a, b)
    win = _window(cy, cx, r, r, h, w)
    if win is None:
        return None
    yy, xx = _grid(*win)
    dy, dx = yy - cy, xx - cx
    c, s = math.cos(theta), math.sin(theta)
    u = (dx * c + dy * s) / max(a, 0.5)
    v = (-dx * s + dy * c) / max(b, 0.5)
    return win[0], win[2], u * u + v * v <= 1.0


def _fill_polygon(px, py, h, w):
    """Even-odd fill of a polygon (vertex arrays px, py) at pixel centres."""
    win = _window((py.min() + py.max()) / 2, (px.min() + px.max()) / 2,
                  (py.max() - py.min()) / 2 + 1, (px.max() - px.min()) / 2 + 1, h, w)
    if win is None:
        return None
    y0, y1, x0, x1 = win
    rows, cols = y1 - y0, x1 - x0
    yc = np.arange(y0, y1, dtype=np.float64) + 0.5
    xa, ya = px, py
    xb, yb = np.roll(px, -1), np.roll(py, -1)
    hit = ((ya[None, :] <= yc[:, None]) & (yc[:, None] < yb[None, :])) | \
          ((yb[None, :] <= yc[:, None]) & (yc[:, None] < ya[None, :]))
    r, e = np.nonzero(hit)
    xcross = xa[e] + (yc[r] - ya[e]) * (xb[e] - xa[e]) / (yb[e] - ya[e])
    # pixel column c (centre x0 + c + 0.5) is right of the crossing when c >= ceil(x - x0 - 0.5)
    c = np.clip(np.ceil(xcross - x0 - 0.5), 0, cols).astype(np.intp)
    toggles = np.zeros((rows, cols + 1), dtype=np.uint8)
    np.add.at(toggles, (r, c), 1)
    inside = (np.cumsum(toggles, axis=1, dtype=np.uint8) & 1).astype(bool)[:, :cols]
    return y0, x0, inside


def _star_polygon(rng, cy, cx, r, k, jagged):
    """A random star-shaped polygon with k vertices around (cy, cx)."""
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    rad = r * rng.uniform(1.0 - jagged, 1.0, k)
    stretch = rng.uniform(0.5, 1.0)
    theta = rng.uniform(0, np.pi)
    ex, ey = rad * np.cos(ang), rad * np.sin(ang) * stretch
    c, s = math.cos(theta), math.sin(theta)
    return cx + ex * c - ey * s, cy + ex * s + ey * c


def _thick_segment(xa, ya, xb, yb, width, h, w):
    """Pixels within width/2 of the segment (xa, ya)-(xb, yb)."""
    hw = width / 2.0
    win = _window((ya + yb) / 2, (xa + xb) / 2, abs(yb - ya) / 2 + hw + 1,
                  abs(xb - xa) / 2 + hw + 1, h, w)
    if win is None:
        return None
    yy, xx = _grid(*win)
    dx, dy = xb - xa, yb - ya
    ll = dx * dx + dy * dy
    if ll == 0:
        t = 0.0
    else:
        t = np.clip(((xx - xa) * dx + (yy - ya) * dy) / ll, 0.0, 1.0)
    ex = xx - (xa + t * dx)
    ey = yy - (ya + t * dy)
    return win[0], win[2], ex * ex + ey * ey <= hw * hw


def _smooth_noise(rng, rows, cols, cell):
    """Bilinearly interpolated uniform noise with feature size ``cell`` pixels."""
    gy, gx = rows // cell + 2, cols // cell + 2
    g = rng.random((gy, gx))
    fy = np.arange(rows) / cell
    fx = np.arange(cols) / cell
    iy, ix = fy.astype(np.intp), fx.astype(np.intp)
    ty, tx = (fy - iy)[:, None], (fx - ix)[None, :]
    top = g[iy][:, ix] * (1 - tx) + g[iy][:, ix + 1] * tx
    bot = g[iy + 1][:, ix] * (1 - tx) + g[iy + 1][:, ix + 1] * tx
    return top * (1 - ty) + bot * ty


def _paste(mask, piece, value=True):
    if piece is None:
        return
    y0, x0, local = piece
    view = mask[y0:y0 + local.shape[0], x0:x0 + local.shape[1]]
    if value:
        view |= local
    else:
        view &= ~local


# --------------------------------------------------------------------------- mask kinds

def _size(rng, h, w, lo=0.01, hi=0.6):
    """A radius in pixels: log-uniform relative linear size (many small, few huge)."""
    return math.exp(rng.uniform(math.log(lo), math.log(hi))) * min(h, w) / 2


def _centre(rng, h, w):
    return rng.uniform(0, h), rng.uniform(0, w)


def _draw(kind, rng, mask):
    h, w = mask.shape
    if kind == "empty":
        return
    if kind == "full":
        mask[:] = True
        return
    cy, cx = _centre(rng, h, w)
    if kind == "ellipse":
        r = _size(rng, h, w)
        _paste(mask, _ellipse(cy, cx, r, r * rng.uniform(0.3, 1.0), rng.uniform(0, np.pi), h, w))
    elif kind == "polygon":
        r = _size(rng, h, w)
        k = int(rng.integers(3, 40))
        px, py = _star_polygon(rng, cy, cx, r, k, rng.uniform(0.0, 0.8))
        _paste(mask, _fill_polygon(px, py, h, w))
    elif kind == "holes":
        r = _size(rng, h, w, 0.03, 0.6)
        if rng.random() < 0.5:
            _paste(mask, _ellipse(cy, cx, r, r * rng.uniform(0.5, 1.0), rng.uniform(0, np.pi), h, w))
        else:
            px, py = _star_polygon(rng, cy, cx, r, int(rng.integers(5, 30)), 0.4)
            _paste(mask, _fill_polygon(px, py, h, w))
        for _ in range(int(rng.integers(1, 8))):
            hr = r * rng.uniform(0.05, 0.3)
            hy, hx = cy + rng.uniform(-0.5, 0.5) * r, cx + rng.uniform(-0.5, 0.5) * r
            _paste(mask, _ellipse(hy, hx, hr, hr * rng.uniform(0.4, 1.0),
                                  rng.uniform(0, np.pi), h, w), value=False)
    elif kind == "ring":
        r = _size(rng, h, w, 0.03, 0.5)
        b = r * rng.uniform(0.5, 1.0)
        th = rng.uniform(0, np.pi)
        width = rng.uniform(2, max(3.0, 0.15 * r))
        _paste(mask, _ellipse(cy, cx, r, b, th, h, w))
        _paste(mask, _ellipse(cy, cx, r - width, b - width, th, h, w), value=False)
    elif kind == "lines":
        # a thick polyline (cables, poles, branches); sometimes a few parallel ones
        length = _size(rng, h, w, 0.05, 1.0) * 2
        width = rng.uniform(1.0, 8.0)
        n_lines = 1 if rng.random() < 0.7 else int(rng.integers(2, 6))
        ang = rng.uniform(0, np.pi)
        for j in range(n_lines):
            x, y = cx + j * 4 * width * math.sin(ang), cy - j * 4 * width * math.cos(ang)
            a = ang
            for _ in range(int(rng.integers(1, 5))):
                seg = length / 3 * rng.uniform(0.5, 1.0)
                a += rng.normal(0, 0.3)
                nx, ny = x + seg * math.cos(a), y + seg * math.sin(a)
                _paste(mask, _thick_segment(x, y, nx, ny, width, h, w))
                x, y = nx, ny
    elif kind == "texture":
        # foliage, gravel, hair: thresholded noise inside a blob; many short runs
        r = _size(rng, h, w, 0.05, 0.5)
        blob = _ellipse(cy, cx, r, r * rng.uniform(0.4, 1.0), rng.uniform(0, np.pi), h, w)
        if blob is None:
            return
        y0, x0, inside = blob
        rows, cols = inside.shape
        cell = int(rng.integers(3, 24))
        noise = _smooth_noise(rng, rows, cols, cell)
        noise += rng.uniform(0.0, 0.35) * rng.random((rows, cols))
        _paste(mask, (y0, x0, inside & (noise > np.quantile(noise, rng.uniform(0.3, 0.7)))))
    elif kind == "fragments":
        # a mask made of many disjoint pieces (a flock, scattered leaves, text)
        region = _size(rng, h, w, 0.1, 0.8)
        n = int(rng.integers(5, 250))
        fr = max(1.0, region / math.sqrt(n) * rng.uniform(0.1, 0.4))
        ys = cy + rng.uniform(-region, region, n)
        xs = cx + rng.uniform(-region, region, n)
        for fy, fx in zip(ys, xs):
            a = fr * rng.uniform(0.3, 1.0)
            _paste(mask, _ellipse(fy, fx, a, a * rng.uniform(0.3, 1.0), rng.uniform(0, np.pi), h, w))
    elif kind == "tiny":
        # a few pixels: a short random walk
        n = int(rng.integers(1, 40))
        steps = rng.integers(-1, 2, size=(n, 2))
        pts = np.cumsum(steps, axis=0) + [int(cy), int(cx)]
        pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < h) & (pts[:, 1] >= 0) & (pts[:, 1] < w)]
        mask[pts[:, 0], pts[:, 1]] = True
    elif kind == "large":
        style = rng.integers(0, 3)
        if style == 0:
            # ground / sky: everything below a wavy horizon, maybe with objects cut out
            xs = np.arange(w, dtype=np.float64) + 0.5
            horizon = rng.uniform(0.2, 0.8) * h
            for _ in range(4):
                horizon = horizon + rng.uniform(0, 0.03 * h) * np.sin(
                    xs * rng.uniform(0.001, 0.03) + rng.uniform(0, 2 * np.pi))
            below = (np.arange(h, dtype=np.float64)[:, None] + 0.5) > horizon[None, :]
            if rng.random() < 0.5:
                below = ~below
            mask |= below
            for _ in range(int(rng.integers(0, 6))):
                oy, ox = _centre(rng, h, w)
                orad = _size(rng, h, w, 0.02, 0.2)
                _paste(mask, _ellipse(oy, ox, orad, orad * rng.uniform(0.3, 1.0),
                                      rng.uniform(0, np.pi), h, w), value=False)
        elif style == 1:
            # a big object: a polygon spanning much of the image
            r = rng.uniform(0.4, 0.9) * max(h, w) / 2
            px, py = _star_polygon(rng, h / 2 + rng.uniform(-0.2, 0.2) * h,
                                   w / 2 + rng.uniform(-0.2, 0.2) * w, r,
                                   int(rng.integers(6, 60)), rng.uniform(0.1, 0.5))
            _paste(mask, _fill_polygon(px, py, h, w))
        else:
            # background: the complement of an object
            r = _size(rng, h, w, 0.1, 0.5)
            mask[:] = True
            _paste(mask, _ellipse(cy, cx, r, r * rng.uniform(0.3, 1.0), rng.uniform(0, np.pi), h, w),
                   value=False)
    else:
        raise ValueError(f"unknown mask kind {kind!r}")


# --------------------------------------------------------------------------- images

def _sa1b_bbox(mask):
    """SA-1B's bbox: [x, y, w - 1, h - 1] of pycocotools' toBbox; [0, 0, 0, 0] when empty."""
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    rows = np.flatnonzero(mask.any(axis=1))
    return [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0]), float(rows[-1] - rows[0])]


def _point(rng, mask):
    """A prompt point inside the mask ([x, y] pixel centre), like SA-1B's point_coords."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        h, w = mask.shape
        return [float(w) / 2, float(h) / 2]
    y, x = divmod(int(idx[rng.integers(idx.size)]), mask.shape[1])
    return [x + 0.5, y + 0.5]


def make_image(seed, shape=None, n_masks=None, kinds=None, image_id=None, encode=None):
    """One SA-1B-like per-image dict, fully determined by ``seed``.

    Parameters
    ----------
    seed : int or sequence of int
        Seed of ``numpy.random.default_rng``.
    shape : (int, int), optional
        (height, width); default: one of ``IMAGE_SHAPES`` drawn from the seed.
    n_masks : int, optional
        Number of annotations; default: 90 to 110 drawn from the seed. Includes
        one empty and one full mask when ``n_masks >= 2``.
    kinds : dict, optional
        Mask kind -> weight; default ``KINDS``.
    image_id : int, optional
        Default: drawn from the seed.
    encode : callable, optional
        Maps an (h, w) uint8 mask to its COCO counts string; default sarle or pycocotools.

    Returns
    -------
    dict
        ``{"image": {...}, "annotations": [...]}`` in SA-1B's format.
    """
    rng = np.random.default_rng(seed)
    if shape is None:
        shape = IMAGE_SHAPES[int(rng.integers(len(IMAGE_SHAPES)))]
    h, w = int(shape[0]), int(shape[1])
    if n_masks is None:
        n_masks = int(rng.integers(90, 111))
    kinds = KINDS if kinds is None else kinds
    if encode is None:
        encode = _pick_encoder()[1]
    if image_id is None:
        image_id = int(rng.integers(1, 12_000_000))

    names = list(kinds)
    p = np.array([kinds[k] for k in names], dtype=np.float64)
    chosen = list(rng.choice(names, size=n_masks, p=p / p.sum()))
    if n_masks >= 2:
        chosen[int(rng.integers(n_masks))] = "empty"
        j = int(rng.integers(n_masks - 1))
        j += j >= chosen.index("empty")
        chosen[j] = "full"

    first_id = int(rng.integers(1, 2**31 - 4096))
    anns = []
    mask = np.zeros((h, w), dtype=bool)
    for k, kind in enumerate(chosen):
        mask[:] = False
        _draw(kind, rng, mask)
        counts = encode(mask.view(np.uint8))
        area = int(np.count_nonzero(mask))
        # SAM's automatic mask generator: a crop box per crop layer; most masks from the full image
        if rng.random() < 0.8:
            crop = [0.0, 0.0, float(w), float(h)]
        else:
            cw, ch = w // 2 + w // 8, h // 2 + h // 8
            crop = [float(rng.choice([0, w - cw])), float(rng.choice([0, h - ch])), float(cw), float(ch)]
        anns.append({
            "id": first_id + k,
            "segmentation": {"size": [h, w], "counts": counts},
            "bbox": _sa1b_bbox(mask),
            "area": area,
            "predicted_iou": float(np.clip(rng.normal(0.95, 0.03), 0.88, 1.02)),
            "point_coords": [_point(rng, mask)],
            "stability_score": float(rng.uniform(0.92, 0.995)),
            "crop_box": crop,
        })
    return {
        "image": {"image_id": image_id, "width": w, "height": h, "file_name": f"sa_{image_id}.jpg"},
        "annotations": anns,
    }


def make_corpus(n_images, seed):
    """``n_images`` SA-1B-like per-image dicts; image ``i`` is ``make_image((seed, i))``."""
    encode = _pick_encoder()[1]
    return [make_image((seed, i), encode=encode) for i in range(n_images)]


def make_sample(seed=0):
    """The small image callgrind_decode.py uses (benchmarks/data): 600 x 900, 40 masks, about 25 kB."""
    return make_image((seed, 1_000_000), shape=(600, 900), n_masks=40, image_id=1)


def _describe(images):
    lines = []
    for img in images:
        anns = img["annotations"]
        h, w = anns[0]["segmentation"]["size"]
        areas = np.array([a["area"] for a in anns], dtype=np.float64) / (h * w)
        chars = np.array([len(a["segmentation"]["counts"]) for a in anns])
        lines.append(
            f"{img['image']['file_name']}: {h}x{w}, {len(anns)} masks, area fraction "
            f"median {np.median(areas):.4f} (p10 {np.quantile(areas, 0.1):.5f}, p90 "
            f"{np.quantile(areas, 0.9):.3f}), counts chars median {int(np.median(chars))}, "
            f"max {chars.max()}, total {chars.sum()}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=3, help="number of images (default 3)")
    ap.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    ap.add_argument("--out", help="directory for sa_<image_id>.json files")
    ap.add_argument("--sample", metavar="PATH",
                    help="write only the small callgrind image (600x900, 40 masks) to PATH")
    args = ap.parse_args(argv)

    name = _pick_encoder()[0]
    if args.sample:
        img = make_sample(args.seed)
        text = json.dumps(img, separators=(",", ":"))
        d = os.path.dirname(args.sample)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(args.sample, "w") as f:
            f.write(text)
        print(f"wrote {args.sample} ({len(text)} bytes, encoder {name})")
        print(_describe([img]))
        return 0
    if not args.out:
        ap.error("--out DIR or --sample PATH is required")
    os.makedirs(args.out, exist_ok=True)
    images = make_corpus(args.images, args.seed)
    for img in images:
        path = os.path.join(args.out, img["image"]["file_name"].replace(".jpg", ".json"))
        with open(path, "w") as f:
            json.dump(img, f, separators=(",", ":"))
    print(f"wrote {len(images)} images to {args.out} (seed {args.seed}, encoder {name})")
    print(_describe(images))
    return 0


if __name__ == "__main__":
    sys.exit(main())
