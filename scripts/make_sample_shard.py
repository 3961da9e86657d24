#!/usr/bin/env python
"""Make sarle's bundled SA-1B sample shard, ``src/sarle/data/sa_sample.tar``.

SA-1B ships ~1000 uncompressed tar shards; each holds, per image, ``sa_N.jpg``
followed by ``sa_N.json`` (N = image_id), the JSON being one image::

    {"image": {"image_id", "width", "height", "file_name"},
     "annotations": [{"id", "segmentation": {"size": [h, w], "counts": str},
                      "bbox", "area", "predicted_iou", "point_coords",
                      "stability_score", "crop_box"}, ...]}

This script draws four small synthetic *scenes* of that kind from a seed (a
farm, a mountain road, a park with a pond, a yard) and writes them as one such
shard. Each scene is painted back to front (sky, sun, clouds, hills, ground,
then houses, trees, fences, cars, ...) while a label map records which painted
primitive owns each pixel; every annotation is the set of pixels owned by a
group of primitives, so the masks match what the JPEG shows, the way SAM's
automatic mask generator sees it: whole objects and their nested parts and
sub-parts (house > window > pane), overlapping groups, masks with holes (a wall
around its windows, the ground around everything standing on it), thin
structures (power cables, fence rails, road markings), fragmented masks
(a flock of birds, scattered flowers, fence posts cut by the rails), a few
masks of a handful of pixels, and one large ground region.

The SA-1B conventions are kept exactly: counts are COCO compressed RLE
(``sarle.encode``, identical to pycocotools); ``bbox`` is the tight box with
width and height one less (SAM computed max - min); ``area`` is the pixel
count; ``point_coords`` is one point of SAM's prompt grid (32 x 32 on the full
image, 16 x 16 / 8 x 8 on the crop-layer windows) that lies inside the mask, or
a pixel centre inside the mask when no grid point does; ``crop_box`` is the
full image or one of SAM's 2 x 2 / 4 x 4 crop-layer windows (only for masks
well inside that window); ``predicted_iou`` and ``stability_score`` are float32
values, the former sometimes above 1. One annotation stores its bbox as ints,
as some real files do. Ids are large unique ints. JSON is ``json.dumps(record)``
with the default separators, like SA-1B.

Everything is vectorised numpy drawn from ``numpy.random.default_rng`` (the
shape helpers come from ``benchmarks/corpus.py``), so the JSON members are
byte-for-byte reproducible; the JPEG bytes (Pillow, quality 85) depend on the
libjpeg version. The tar is deterministic given those: USTAR format, fixed
mtime, uid/gid 0, empty user/group names, mode 0644. Before writing, the
script decodes every annotation with ``sarle.decode`` and checks it against
the mask it drew, the stored area, bbox and point, and the size.

Usage::

    python scripts/make_sample_shard.py [--out PATH] [--seed S]
    python scripts/make_sample_shard.py --check      # JSON members of the tar up to date?
    python scripts/make_sample_shard.py --preview DIR  # also write overlay PNGs

``--check`` regenerates the shard in memory and exits with status 1 unless the
existing tar holds the same members in the same order with byte-identical JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import tarfile
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import corpus  # noqa: E402  (benchmarks/corpus.py: shared rasterisers)

try:
    import sarle
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, os.path.join(ROOT, "src"))
    import sarle

DEFAULT_OUT = os.path.join(ROOT, "src", "sarle", "data", "sa_sample.tar")
DEFAULT_SEED = 0
MTIME = 1680000000
JPEG_QUALITY = 85
MAX_TAR_BYTES = 900_000

Colour = Callable[["Scene", Tuple[slice, slice]], np.ndarray]


# --------------------------------------------------------------------------- scene

class Scene:
    """An RGB canvas plus a label map of painted primitives and annotation specs."""

    def __init__(self, rng: np.random.Generator, h: int, w: int) -> None:
        self.rng, self.h, self.w = rng, h, w
        self.img = np.zeros((h, w, 3), dtype=np.float64)
        self.leaf = np.zeros((h, w), dtype=np.int32)  # primitive id per pixel, 0 = none
        self.names: List[str] = ["(none)"]
        self.specs: List[Tuple[str, Tuple[int, ...]]] = []
        self.Y = np.arange(h, dtype=np.float64)[:, None] + 0.5
        self.X = np.arange(w, dtype=np.float64)[None, :] + 0.5
        # shared texture fields in [-0.5, 0.5] at three feature sizes
        self.fine = corpus._smooth_noise(rng, h, w, 3) - 0.5
        self.mid = corpus._smooth_noise(rng, h, w, 11) - 0.5
        self.coarse = corpus._smooth_noise(rng, h, w, 45) - 0.5
        self.lx, self.ly = -0.6, -0.8  # unit vector towards the light
        self.shadows: List[int] = []

    # ---- geometry: full-size bool masks
    def _full(self, piece) -> np.ndarray:
        m = np.zeros((self.h, self.w), dtype=bool)
        corpus._paste(m, piece)
        return m

    def ellipse(self, cy, cx, ry, rx=None, theta=0.0) -> np.ndarray:
        """Filled ellipse with vertical semi-axis ry and horizontal rx (a circle by default)."""
        rx = ry if rx is None else rx
        return self._full(corpus._ellipse(cy, cx, rx, ry, theta, self.h, self.w))

    def poly(self, pts: Sequence[Tuple[float, float]]) -> np.ndarray:
        xs = np.array([p[0] for p in pts], dtype=np.float64)
        ys = np.array([p[1] for p in pts], dtype=np.float64)
        return self._full(corpus._fill_polygon(xs, ys, self.h, self.w))

    def rect(self, x0, y0, x1, y1) -> np.ndarray:
        return self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def segment(self, xa, ya, xb, yb, width) -> np.ndarray:
        return self._full(corpus._thick_segment(xa, ya, xb, yb, width, self.h, self.w))

    def blob(self, cy, cx, ry, rx, rough=0.15, cell=8, theta=0.0) -> np.ndarray:
        """An ellipse whose edge is displaced by smooth noise (foliage, clouds, bushes)."""
        pad = 1.0 + rough
        win = corpus._window(cy, cx, max(ry, rx) * pad, max(ry, rx) * pad, self.h, self.w)
        m = np.zeros((self.h, self.w), dtype=bool)
        if win is None:
            return m
        y0, y1, x0, x1 = win
        yy, xx = corpus._grid(*win)
        dy, dx = yy - cy, xx - cx
        c, s = math.cos(theta), math.sin(theta)
        u, v = (dx * c + dy * s) / rx, (-dx * s + dy * c) / ry
        r = np.sqrt(u * u + v * v)
        n = corpus._smooth_noise(self.rng, y1 - y0, x1 - x0, cell)
        m[y0:y1, x0:x1] = r < 1.0 + rough * (2.0 * n - 1.0)
        return m

    def curve(self, xa, ya, xb, yb, sag, width) -> np.ndarray:
        """A sagging cable from (xa, ya) to (xb, yb): |y - y(x)| within width/2 (normal)."""
        xl, xr = min(xa, xb), max(xa, xb)
        c0, c1 = max(0, int(math.floor(xl))), min(self.w, int(math.ceil(xr)) + 1)
        m = np.zeros((self.h, self.w), dtype=bool)
        if c0 >= c1:
            return m
        x = self.X[0, c0:c1]
        t = np.clip((x - xa) / (xb - xa), 0.0, 1.0)
        yc = ya + (yb - ya) * t + 4.0 * sag * t * (1.0 - t)
        slope = ((yb - ya) + 4.0 * sag * (1.0 - 2.0 * t)) / (xb - xa)
        half = width / 2.0 * np.sqrt(1.0 + slope * slope)
        r0 = max(0, int(math.floor(float(min(yc.min(), ya, yb)) - 2 * width - 2)))
        r1 = min(self.h, int(math.ceil(float(max(yc.max(), ya, yb)) + 2 * width + 2)))
        if r0 >= r1:
            return m
        yy = self.Y[r0:r1]
        inside = (np.abs(yy - yc[None, :]) <= half[None, :]) & (x >= xl)[None, :] & (x <= xr)[None, :]
        m[r0:r1, c0:c1] = inside
        return m

    # ---- painting
    def paint(self, mask: np.ndarray, colour: Colour, name: str, outline: float = 0.0) -> int:
        """Paint ``mask`` with ``colour`` on top of everything so far; return the primitive id."""
        pid = len(self.names)
        self.names.append(name)
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return pid
        cols = np.flatnonzero(mask.any(axis=0))
        sl = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
        local = mask[sl]
        col = colour(self, sl)
        if outline:
            inner = local.copy()
            inner[1:] &= local[:-1]
            inner[:-1] &= local[1:]
            inner[:, 1:] &= local[:, :-1]
            inner[:, :-1] &= local[:, 1:]
            col = col * (1.0 - outline * (local & ~inner))[..., None]
        self.img[sl][local] = col[local]
        self.leaf[sl][local] = pid
        return pid

    def ann(self, name: str, *ids) -> None:
        """Annotate the pixels owned by these primitives (ints or lists of ints)."""
        flat: List[int] = []
        for i in ids:
            flat.extend(i if isinstance(i, (list, tuple)) else [i])
        self.specs.append((name, tuple(sorted(set(flat)))))

    def shadow(self, mask: np.ndarray, strength: float = 0.62) -> int:
        def col(sc, sl):
            return sc.img[sl] * strength
        pid = self.paint(mask, col, "shadow")
        self.shadows.append(pid)
        return pid


def tex(base, fine=0.0, mid=0.0, coarse=0.0, gy=0.0, gx=0.0, sphere=0.0, hl=0.0,
        stripes: Optional[Tuple[float, float]] = None) -> Colour:
    """A colour field: base RGB times (gradient + noise + optional sphere shading)."""
    base_arr = np.array(base, dtype=np.float64)

    def colour(sc: Scene, sl) -> np.ndarray:
        yy, xx = sc.Y[sl[0]], sc.X[:, sl[1]]
        cy, cx = (yy[0, 0] + yy[-1, 0]) / 2, (xx[0, 0] + xx[0, -1]) / 2
        ry, rx = max((yy[-1, 0] - yy[0, 0]) / 2, 1.0), max((xx[0, -1] - xx[0, 0]) / 2, 1.0)
        ny, nx = (yy - cy) / ry, (xx - cx) / rx
        k = 1.0 + gy * ny + gx * nx
        if fine:
            k = k + fine * sc.fine[sl]
        if mid:
            k = k + mid * sc.mid[sl]
        if coarse:
            k = k + coarse * sc.coarse[sl]
        if sphere:
            k = k + sphere * (0.55 * (nx * sc.lx + ny * sc.ly) - 0.3 * (nx * nx + ny * ny))
        if stripes:
            period, depth = stripes
            k = k * (1.0 - depth * (((yy - yy[0, 0]) % period) < 2.0))
        col = base_arr * np.broadcast_to(k, (yy.shape[0], xx.shape[1]))[..., None]
        if hl:
            d2 = (nx - 0.45 * sc.lx) ** 2 + (ny - 0.45 * sc.ly) ** 2
            col = col + (hl * 255.0) * np.exp(-d2 / 0.04)[..., None]
        return col

    return colour


def perspective(sc: Scene, y: float, horizon: float) -> float:
    """How big things standing at y look: 0 at the horizon, 1 at the bottom edge."""
    return max(0.05, (y - horizon) / (sc.h - horizon))


# --------------------------------------------------------------------------- scene elements

def sky(sc: Scene, horizon: float, sun=None, top=(62, 118, 196), bottom=(196, 218, 236)) -> int:
    top_a, bot_a = np.array(top, float), np.array(bottom, float)

    def col(sc, sl):
        t = np.clip(sc.Y[sl[0]] / max(horizon, 1.0), 0.0, 1.0)[..., None]
        c = top_a * (1 - t) + bot_a * t
        c = c * (1.0 + 0.06 * sc.coarse[sl])[..., None]
        if sun is not None:
            sy, sx, sr = sun
            d2 = (sc.Y[sl[0]] - sy) ** 2 + (sc.X[:, sl[1]] - sx) ** 2
            c = c + np.exp(-d2 / (2 * (3.5 * sr) ** 2))[..., None] * np.array([70.0, 60.0, 25.0])
        return c

    return sc.paint(np.ones((sc.h, sc.w), dtype=bool), col, "sky")


def sun(sc: Scene, cy, cx, r) -> int:
    sid = sc.paint(sc.ellipse(cy, cx, r), tex((255, 240, 188), gy=0.03), "sun")
    n = math.hypot(cx - sc.w / 2, cy - sc.h / 2)
    sc.lx, sc.ly = (cx - sc.w / 2) / n, (cy - sc.h / 2) / n
    sc.ann("sun", sid)
    return sid


def cloud(sc: Scene, cy, cx, size) -> int:
    rng = sc.rng
    m = np.zeros((sc.h, sc.w), dtype=bool)
    for _ in range(int(rng.integers(4, 8))):
        r = size * rng.uniform(0.35, 0.7)
        m |= sc.blob(cy + rng.uniform(-0.25, 0.15) * size, cx + rng.uniform(-1.1, 1.1) * size,
                     r * 0.75, r * rng.uniform(1.0, 1.6), rough=0.12, cell=int(rng.integers(6, 14)))
    cid = sc.paint(m, tex((246, 247, 251), mid=0.06, coarse=0.08, gy=-0.13), "cloud")
    sc.ann("cloud", cid)
    return cid


def birds(sc: Scene, cy, cx, spread, n, size) -> List[int]:
    rng = sc.rng
    ids = []
    for _ in range(n):
        y, x = cy + rng.normal(0, spread * 0.35), cx + rng.normal(0, spread)
        s = size * rng.uniform(0.6, 1.3)
        flap = rng.uniform(0.2, 0.6)
        m = sc.segment(x - s, y - flap * s, x, y, 2.2) | sc.segment(x, y, x + s, y - flap * s, 2.2)
        ids.append(sc.paint(m, tex((38, 40, 48)), "bird"))
    sc.ann("flock", ids)
    sc.ann("bird", ids[0])
    sc.ann("bird", ids[-1])
    return ids


def ridge(sc: Scene, base, amp, n_points, jag) -> np.ndarray:
    """A mountain / hill silhouette: midpoint-displaced polyline, filled down to y = h."""
    rng = sc.rng
    xs = np.linspace(-10, sc.w + 10, n_points)
    ys = base - amp * (0.5 + 0.5 * np.sin(xs / sc.w * rng.uniform(2, 5) + rng.uniform(0, 6.3)))
    ys = ys - jag * amp * rng.random(n_points)
    pts = list(zip(xs.tolist(), ys.tolist())) + [(sc.w + 10.0, sc.h + 1.0), (-10.0, sc.h + 1.0)]
    return sc.poly(pts)


def ground_line(sc: Scene, horizon, wobble) -> np.ndarray:
    rng = sc.rng
    x = sc.X[0]
    line = horizon + wobble * (np.sin(x / sc.w * rng.uniform(2, 4) + rng.uniform(0, 6.3))
                               + 0.4 * np.sin(x / sc.w * rng.uniform(7, 11) + rng.uniform(0, 6.3)))
    return sc.Y > line[None, :]


def ground(sc: Scene, horizon, far=(122, 160, 86), near=(62, 118, 44)) -> int:
    far_a, near_a = np.array(far, float), np.array(near, float)

    def col(sc, sl):
        t = np.clip((sc.Y[sl[0]] - horizon) / (sc.h - horizon), 0.0, 1.0)
        c = far_a * (1 - t[..., None]) + near_a * t[..., None]
        k = 1.0 + 0.22 * sc.coarse[sl] + (0.06 + 0.16 * t) * sc.mid[sl] + 0.10 * t * sc.fine[sl]
        return c * k[..., None]

    return sc.paint(ground_line(sc, horizon, 0.012 * sc.h), col, "ground")


def house(sc: Scene, x0, x1, base, wall_h, roof_h, wall_rgb, roof_rgb, n_windows=2) -> List[int]:
    rng = sc.rng
    ww = x1 - x0
    top = base - wall_h
    sc.shadow(sc.poly([(x0, base - 2), (x1, base - 2), (x1 + 0.12 * ww, base + 0.05 * wall_h),
                       (x0 + 0.1 * ww, base + 0.06 * wall_h)]))
    cx = x0 + ww * rng.uniform(0.62, 0.75)
    chim = sc.paint(sc.rect(cx, top - roof_h * 1.25, cx + 0.07 * ww, top - roof_h * 0.5),
                    tex((150, 80, 62), mid=0.12, gx=0.1), "chimney", outline=0.25)
    over = 0.06 * ww
    roof = sc.paint(sc.poly([(x0 - over, top + 2), (x1 + over, top + 2), (x1 - 0.18 * ww, top - roof_h),
                             (x0 + 0.18 * ww, top - roof_h)]),
                    tex(roof_rgb, mid=0.1, gy=0.12, stripes=(max(6.0, roof_h / 7), 0.16)), "roof",
                    outline=0.3)
    wall = sc.paint(sc.rect(x0, top, x1, base), tex(wall_rgb, mid=0.05, coarse=0.08, gx=0.08,
                                                      stripes=(max(7.0, wall_h / 14), 0.06)),
                    "wall", outline=0.2)
    door_w, door_h = 0.14 * ww, 0.55 * wall_h
    dx = x0 + ww * rng.uniform(0.42, 0.5)
    door = sc.paint(sc.rect(dx, base - door_h, dx + door_w, base), tex((112, 66, 40), mid=0.1, gy=0.1),
                    "door", outline=0.3)
    knob = sc.paint(sc.ellipse(base - door_h * 0.48, dx + door_w * 0.8, max(1.6, 0.012 * ww)),
                    tex((232, 196, 80)), "knob")
    windows = []
    slots = [x0 + ww * f for f in ((0.1, 0.7) if n_windows == 2 else (0.08, 0.28, 0.7))]
    for wx in slots:
        fw, fh = 0.18 * ww, 0.34 * wall_h
        wy = top + 0.22 * wall_h
        frame = sc.paint(sc.rect(wx, wy, wx + fw, wy + fh), tex((242, 240, 232)), "frame", outline=0.25)
        bar = max(2.0, 0.08 * fw)
        panes = []
        xl, xm0, xm1, xr = wx + bar, wx + fw / 2 - bar / 2, wx + fw / 2 + bar / 2, wx + fw - bar
        yt, ym0, ym1, yb = wy + bar, wy + fh / 2 - bar / 2, wy + fh / 2 + bar / 2, wy + fh - bar
        for (px0, py0, px1, py1) in ((xl, yt, xm0, ym0), (xm1, yt, xr, ym0),
                                     (xl, ym1, xm0, yb), (xm1, ym1, xr, yb)):
            panes.append(sc.paint(sc.rect(px0, py0, px1, py1),
                                  tex((120, 160, 190), gx=-0.15, gy=-0.2, mid=0.05), "pane"))
        windows.append([frame] + panes)
    ids = [chim, roof, wall, door, knob] + [i for win in windows for i in win]
    sc.ann("house", ids)
    sc.ann("roof", roof)
    sc.ann("roof and chimney", roof, chim)
    sc.ann("chimney", chim)
    sc.ann("wall", wall)
    sc.ann("door", door, knob)
    sc.ann("door knob", knob)
    for k, win in enumerate(windows):
        sc.ann("window", win)
        sc.ann("pane", win[1 + k % 4])
    sc.ann("window frame", windows[0][0])
    return ids


def tree(sc: Scene, x, base, height, leaf_rgb=(58, 112, 44), fruit: bool = False) -> List[int]:
    rng = sc.rng
    tw = 0.07 * height
    trunk_top = base - 0.55 * height
    sc.shadow(sc.ellipse(base + 0.01 * height, x + 0.12 * height, 0.035 * height, 0.28 * height))
    trunk = sc.paint(sc.poly([(x - tw / 2, base), (x + tw / 2, base), (x + tw * 0.3, trunk_top),
                              (x - tw * 0.3, trunk_top)]),
                     tex((104, 74, 50), fine=0.15, mid=0.15, gx=-0.2), "trunk", outline=0.25)
    side = 1 if rng.random() < 0.5 else -1
    branch = sc.paint(sc.segment(x, base - 0.35 * height, x + side * 0.22 * height, base - 0.62 * height,
                                 max(2.5, tw * 0.35)), tex((98, 70, 48), mid=0.15), "branch")
    cy, r = base - 0.7 * height, 0.3 * height
    m = np.zeros((sc.h, sc.w), dtype=bool)
    for _ in range(int(rng.integers(4, 7))):
        rr = r * rng.uniform(0.5, 0.8)
        m |= sc.blob(cy + rng.uniform(-0.5, 0.4) * r, x + rng.uniform(-0.65, 0.65) * r, rr,
                     rr * rng.uniform(0.9, 1.2), rough=0.2, cell=int(rng.integers(5, 10)))
    # gaps in the foliage where the sky shows through
    gap = sc.mid > 0.33
    m &= ~(gap & sc.ellipse(cy, x, 0.9 * r, 1.1 * r))
    canopy = sc.paint(m, tex(leaf_rgb, fine=0.18, mid=0.3, sphere=0.6), "canopy", outline=0.15)
    ids = [trunk, branch, canopy]
    fruits = []
    if fruit:
        ys, xs = np.nonzero(m)
        for _ in range(int(rng.integers(6, 11))):
            j = int(rng.integers(ys.size))
            fr = max(2.5, 0.018 * height)
            fruits.append(sc.paint(sc.ellipse(ys[j] + 0.5, xs[j] + 0.5, fr),
                                   tex((200, 40, 36), sphere=0.6, hl=0.35), "fruit"))
        ids += fruits
    sc.ann("tree", ids)
    sc.ann("trunk", trunk)
    sc.ann("trunk and branch", trunk, branch)
    sc.ann("canopy", canopy, fruits)
    if fruits:
        sc.ann("fruits", fruits)
        sc.ann("fruit", fruits[0])
    return ids


def bush(sc: Scene, x, base, size, rgb=(70, 120, 52)) -> int:
    rng = sc.rng
    m = np.zeros((sc.h, sc.w), dtype=bool)
    for _ in range(3):
        m |= sc.blob(base - size * rng.uniform(0.35, 0.55), x + rng.uniform(-0.6, 0.6) * size,
                     size * 0.45, size * 0.6, rough=0.22, cell=5)
    m &= sc.Y < base
    bid = sc.paint(m, tex(rgb, fine=0.2, mid=0.3, sphere=0.5), "bush", outline=0.12)
    sc.ann("bush", bid)
    return bid


def fence(sc: Scene, x0, x1, base, height, spacing, rgb=(236, 232, 220)) -> List[int]:
    pw = max(4.0, 0.22 * spacing)
    posts = []
    x = x0
    while x < x1:
        posts.append(sc.paint(sc.poly([(x, base), (x + pw, base), (x + pw, base - height * 0.9),
                                       (x + pw / 2, base - height), (x, base - height * 0.9)]),
                              tex(rgb, gx=-0.12, mid=0.06), "post", outline=0.25))
        x += spacing
    rh = max(3.0, 0.1 * height)
    rails = [sc.paint(sc.rect(x0 - spacing, base - f * height, x1, base - f * height + rh),
                      tex(rgb, gy=0.1, mid=0.06), "rail", outline=0.2) for f in (0.75, 0.4)]
    sc.ann("fence", posts, rails)
    sc.ann("rail", rails[0])
    sc.ann("rail", rails[1])
    sc.ann("fence posts", posts)
    sc.ann("post", posts[1])
    sc.ann("post", posts[len(posts) // 2])
    return posts + rails


def pole_and_cables(sc: Scene, x, base, height, cables_to) -> List[int]:
    pw = max(5.0, 0.022 * height)
    top = base - height
    pole = sc.paint(sc.rect(x - pw / 2, top, x + pw / 2, base), tex((92, 72, 58), mid=0.15, gx=-0.25),
                    "pole", outline=0.2)
    arm = sc.paint(sc.rect(x - 0.12 * height, top + 0.05 * height, x + 0.12 * height,
                           top + 0.05 * height + pw * 0.8), tex((86, 68, 54), mid=0.1), "crossarm")
    cables = []
    for xe, ye, sag in cables_to:
        for side in (-1, 1):
            xa = x + side * 0.1 * height
            if (xe - x) * side < 0:
                continue
            cables.append(sc.paint(sc.curve(xa, top + 0.05 * height, xe, ye + (0.02 * height) * side,
                                            sag, 2.2), tex((34, 34, 38)), "cable"))
    sc.ann("utility pole", pole, arm)
    sc.ann("pole", pole)
    sc.ann("crossarm", arm)
    sc.ann("cables", cables)
    for c in cables[:3]:
        sc.ann("cable", c)
    return [pole, arm] + cables


def flowers(sc: Scene, y0, y1, x0, x1, n, palette) -> List[List[int]]:
    rng = sc.rng
    groups: List[List[int]] = [[] for _ in palette]
    for _ in range(n):
        y, x = rng.uniform(y0, y1), rng.uniform(x0, x1)
        k = int(rng.integers(len(palette)))
        r = rng.uniform(1.0, 3.2) * (0.6 + 0.6 * (y - y0) / max(y1 - y0, 1))
        groups[k].append(sc.paint(sc.ellipse(y, x, r, r * rng.uniform(0.7, 1.0)), tex(palette[k]), "flower"))
    for g in groups:
        if g:
            sc.ann("flowers", g)
    sc.ann("flower", groups[0][0])
    sc.ann("flower", groups[-1][-1])
    sc.ann("flower", groups[0][-1])
    return groups


def car(sc: Scene, cx, base, length, rgb, facing=1) -> List[int]:
    L = length
    f = facing
    sc.shadow(sc.ellipse(base - 0.01 * L, cx + 0.04 * L, 0.06 * L, 0.56 * L))
    bb, bt = base - 0.07 * L, base - 0.3 * L
    body = sc.paint(sc.poly([(cx - 0.5 * L, bb), (cx + 0.5 * L, bb), (cx + 0.5 * L, bt + 0.06 * L),
                             (cx + 0.44 * L, bt), (cx - 0.44 * L, bt), (cx - 0.5 * L, bt + 0.06 * L)]),
                    tex(rgb, mid=0.05, gy=-0.25, hl=0.1), "car body", outline=0.3)
    ct = bt - 0.19 * L
    cab = [(cx - 0.3 * L, bt + 1), (cx + 0.3 * L, bt + 1), (cx + 0.18 * L, ct), (cx - 0.2 * L, ct)]
    cabin = sc.paint(sc.poly(cab), tex(rgb, mid=0.05, gy=-0.2), "cabin", outline=0.3)
    m = 0.025 * L
    win_front = sc.paint(sc.poly([(cx + 0.02 * L, bt - m), (cx + 0.27 * L, bt - m),
                                  (cx + 0.165 * L, ct + m), (cx + 0.02 * L, ct + m)]),
                         tex((150, 180, 200), gx=-0.2, gy=-0.15), "window")
    win_back = sc.paint(sc.poly([(cx - 0.02 * L, bt - m), (cx - 0.27 * L, bt - m),
                                 (cx - 0.185 * L, ct + m), (cx - 0.02 * L, ct + m)]),
                        tex((140, 172, 196), gx=-0.2, gy=-0.15), "window")
    light = sc.paint(sc.ellipse(bt + 0.09 * L, cx + f * 0.475 * L, 0.022 * L, 0.035 * L),
                     tex((252, 236, 170)), "headlight")
    tail = sc.paint(sc.rect(cx - f * 0.5 * L - (0.02 * L if f > 0 else 0), bt + 0.07 * L,
                            cx - f * 0.5 * L + (0.02 * L if f < 0 else 0), bt + 0.12 * L),
                    tex((200, 30, 30)), "taillight")
    wheels = []
    for wx in (cx - 0.3 * L, cx + 0.3 * L):
        wy, wr = base - 0.11 * L, 0.11 * L
        tire = sc.paint(sc.ellipse(wy, wx, wr), tex((30, 30, 32), mid=0.1, sphere=0.3), "tire")
        hub = sc.paint(sc.ellipse(wy, wx, wr * 0.5), tex((190, 192, 198), sphere=0.6, hl=0.2), "hub",
                       outline=0.2)
        wheels.append((tire, hub))
    all_ids = [body, cabin, win_front, win_back, light, tail] + [i for wh in wheels for i in wh]
    sc.ann("car", all_ids)
    sc.ann("car body", body, cabin)
    sc.ann("windows", win_front, win_back)
    sc.ann("window", win_front)
    sc.ann("window", win_back)
    sc.ann("headlight", light)
    sc.ann("taillight", tail)
    for tire, hub in wheels:
        sc.ann("wheel", tire, hub)
        sc.ann("tire", tire)
        sc.ann("hub", hub)
    return all_ids


def ball(sc: Scene, cy, cx, r, rgb) -> List[int]:
    sc.shadow(sc.ellipse(cy + 0.9 * r, cx + 0.5 * r, 0.22 * r, 1.1 * r))
    b = sc.ellipse(cy, cx, r)
    bid = sc.paint(b, tex(rgb, sphere=0.8, hl=0.3), "ball", outline=0.1)
    band = b & (np.abs((sc.Y - cy) + 0.4 * (sc.X - cx)) < 0.22 * r)
    sid = sc.paint(band, tex((245, 245, 240), sphere=0.8), "stripe")
    sc.ann("ball", bid, sid)
    sc.ann("ball stripe", sid)
    return [bid, sid]


def rocks(sc: Scene, cy, cx, spread, n, size) -> List[int]:
    rng = sc.rng
    ids = []
    for _ in range(n):
        y, x = cy + rng.uniform(-0.3, 0.3) * spread, cx + rng.uniform(-1, 1) * spread
        r = size * rng.uniform(0.4, 1.0)
        px, py = corpus._star_polygon(rng, y, x, r, int(rng.integers(7, 13)), 0.3)
        py = y + (py - y) * 0.6
        grey = float(rng.uniform(110, 160))
        ids.append(sc.paint(sc.poly(list(zip(px.tolist(), py.tolist()))),
                            tex((grey, grey * 0.97, grey * 0.92), mid=0.2, fine=0.1, sphere=0.7),
                            "rock", outline=0.25))
    sc.ann("rocks", ids)
    for i in ids[:2]:
        sc.ann("rock", i)
    return ids


def road(sc: Scene, horizon, vx, bottom_l, bottom_r, top_w) -> Tuple[int, List[int]]:
    h = sc.h
    rid = sc.paint(sc.poly([(bottom_l, h + 1), (bottom_r, h + 1), (vx + top_w / 2, horizon),
                            (vx - top_w / 2, horizon)]),
                   tex((96, 96, 100), fine=0.12, mid=0.1, gy=0.12), "road")
    dashes = []
    bc = (bottom_l + bottom_r) / 2
    t = 0.02
    while t < 1.0:
        t1 = min(1.0, t + 0.05 + 0.09 * t)

        def pt(tt, dx):
            y = horizon + (h - horizon) * tt
            xc = vx + (bc - vx) * tt
            return (xc + dx * (0.004 + 0.016 * tt) * sc.w, y)

        dashes.append(sc.paint(sc.poly([pt(t, -1), pt(t, 1), pt(t1, 1), pt(t1, -1)]),
                               tex((236, 228, 180), fine=0.1), "road marking"))
        t = t1 + 0.04 + 0.08 * t1
    sc.ann("road", rid, dashes)
    sc.ann("road markings", dashes)
    sc.ann("road marking", dashes[-2])
    return rid, dashes


def pond(sc: Scene, cy, cx, ry, rx) -> List[int]:
    rng = sc.rng

    def col(sc, sl):
        t = tex((70, 118, 160), gy=0.18, coarse=0.15)(sc, sl)
        ripple = 1.0 + 0.06 * np.sin(sc.Y[sl[0]] * 0.9 + 9.0 * sc.mid[sl])
        return t * ripple[..., None]

    pid = sc.paint(sc.blob(cy, cx, ry, rx, rough=0.05, cell=20), col, "pond", outline=0.15)
    pads = []
    for _ in range(int(rng.integers(4, 7))):
        py, px = cy + rng.uniform(-0.6, 0.7) * ry, cx + rng.uniform(-0.75, 0.75) * rx
        pr = rx * rng.uniform(0.05, 0.09)
        a = rng.uniform(0, 2 * math.pi)
        pad = sc.ellipse(py, px, pr * 0.45, pr) & ~sc.poly(
            [(px, py), (px + 2 * pr * math.cos(a - 0.35), py + 0.9 * pr * math.sin(a - 0.35)),
             (px + 2 * pr * math.cos(a + 0.35), py + 0.9 * pr * math.sin(a + 0.35))])
        pads.append(sc.paint(pad, tex((64, 132, 56), mid=0.15, sphere=0.3), "lily pad", outline=0.2))
    # a duck
    dy, dx, ds = cy + 0.1 * ry, cx - 0.25 * rx, 0.09 * rx
    body = sc.paint(sc.ellipse(dy, dx, 0.45 * ds, ds), tex((238, 236, 228), sphere=0.6), "duck body",
                    outline=0.2)
    head = sc.paint(sc.ellipse(dy - 0.7 * ds, dx + 0.75 * ds, 0.33 * ds), tex((40, 96, 60), sphere=0.5),
                    "duck head", outline=0.2)
    beak = sc.paint(sc.poly([(dx + 1.0 * ds, dy - 0.8 * ds), (dx + 1.35 * ds, dy - 0.68 * ds),
                             (dx + 1.0 * ds, dy - 0.58 * ds)]), tex((236, 160, 40)), "beak")
    eye = sc.paint(sc.ellipse(dy - 0.78 * ds, dx + 0.8 * ds, max(1.0, 0.05 * ds)), tex((10, 10, 10)), "eye")
    sc.ann("pond", pid)
    sc.ann("pond with lily pads", pid, pads)
    sc.ann("lily pads", pads)
    sc.ann("lily pad", pads[0])
    sc.ann("lily pad", pads[-1])
    sc.ann("duck", body, head, beak, eye)
    sc.ann("duck head", head, beak, eye)
    sc.ann("beak", beak)
    sc.ann("eye", eye)
    return [pid] + pads + [body, head, beak, eye]


def bench(sc: Scene, x, base, length) -> List[int]:
    L = length
    sc.shadow(sc.rect(x - 0.45 * L, base - 0.02 * L, x + 0.55 * L, base + 0.05 * L))
    legs = [sc.paint(sc.rect(lx, base - 0.64 * L, lx + 0.04 * L, base), tex((50, 50, 54)), "bench leg")
            for lx in (x - 0.42 * L, x + 0.38 * L)]
    slats = [sc.paint(sc.rect(x - 0.5 * L, base - sy * L, x + 0.5 * L, base - sy * L + 0.05 * L),
                      tex((150, 98, 56), mid=0.2, gx=0.1), "slat", outline=0.25)
             for sy in (0.62, 0.52, 0.3)]
    sc.ann("bench", legs, slats)
    sc.ann("backrest", slats[:2])
    sc.ann("seat", slats[2])
    sc.ann("bench leg", legs[0])
    return legs + slats


# --------------------------------------------------------------------------- the four scenes

def scene_farm(sc: Scene) -> None:
    h, w = sc.h, sc.w
    hor = 0.46 * h
    sun_at = (0.14 * h, 0.13 * w, 0.04 * min(h, w))
    s = sky(sc, hor, sun_at)
    sun(sc, *sun_at)
    clouds = [cloud(sc, 0.12 * h, 0.55 * w, 0.06 * w), cloud(sc, 0.24 * h, 0.85 * w, 0.045 * w),
              cloud(sc, 0.3 * h, 0.33 * w, 0.035 * w)]
    bird_ids = birds(sc, 0.2 * h, 0.7 * w, 0.06 * w, 9, 0.011 * w)
    hills = sc.paint(ridge(sc, hor + 0.01 * h, 0.1 * h, 40, 0.08), tex((106, 140, 118), coarse=0.2, gy=0.1),
                     "hills")
    g = ground(sc, hor)
    path = sc.paint(sc.poly([(0.3 * w, 0.62 * h), (0.36 * w, 0.62 * h), (0.52 * w, h + 1), (0.3 * w, h + 1)]),
                    tex((176, 150, 108), fine=0.15, mid=0.15, gy=0.1), "path")
    house(sc, 0.14 * w, 0.46 * w, 0.62 * h, 0.2 * h, 0.12 * h, (226, 206, 160), (150, 58, 48))
    tree(sc, 0.86 * w, 0.58 * h, 0.26 * h, (72, 118, 50))
    tree(sc, 0.62 * w, 0.68 * h, 0.42 * h, fruit=True)
    bush(sc, 0.05 * w, 0.66 * h, 0.08 * w)
    fence(sc, 0.0, 0.27 * w, 0.75 * h, 0.09 * h, 0.038 * w)
    flowers(sc, 0.8 * h, 0.98 * h, 0.55 * w, 0.98 * w, 70, [(245, 220, 60), (250, 250, 250), (220, 60, 80)])
    pole_and_cables(sc, 0.75 * w, 0.6 * h, 0.42 * h,
                    [(-5.0, 0.3 * h, 0.06 * h), (w + 5.0, 0.22 * h, 0.03 * h)])
    sc.ann("sky", s)
    sc.ann("sky and clouds", s, clouds, bird_ids)
    sc.ann("hills", hills)
    sc.ann("ground", g, sc.shadows)
    sc.ann("path", path)
    sc.ann("shadow", sc.shadows[0])


def scene_road(sc: Scene) -> None:
    h, w = sc.h, sc.w
    hor = 0.42 * h
    s = sky(sc, hor, None, top=(84, 136, 206), bottom=(214, 226, 238))
    cloud(sc, 0.1 * h, 0.3 * w, 0.09 * w)
    cloud(sc, 0.17 * h, 0.8 * w, 0.07 * w)
    far = sc.paint(ridge(sc, hor - 0.02 * h, 0.2 * h, 28, 0.3), tex((128, 140, 170), coarse=0.15, gy=0.15),
                   "far mountains")
    near_m = ridge(sc, hor + 0.02 * h, 0.14 * h, 22, 0.35)
    near = sc.paint(near_m, tex((96, 110, 120), coarse=0.2, mid=0.08, gy=0.2), "mountain")
    snow_line = sc.Y < hor - 0.1 * h + 0.025 * h * sc.mid + 0.04 * h * sc.coarse
    snow = sc.paint(near_m & snow_line, tex((240, 242, 248), coarse=0.1, gy=0.05), "snow")
    far_snow = sc.paint((sc.leaf == far) & (sc.Y < hor - 0.19 * h + 0.02 * h * sc.mid + 0.04 * h * sc.coarse),
                        tex((226, 232, 244), coarse=0.1), "snow")
    g = ground(sc, hor + 0.02 * h, far=(136, 150, 96), near=(96, 120, 60))
    road(sc, hor + 0.02 * h, 0.52 * w, 0.05 * w, 0.98 * w, 0.02 * w)
    tree(sc, 0.1 * w, 0.58 * h, 0.22 * h, (52, 100, 58))
    tree(sc, 0.9 * w, 0.62 * h, 0.3 * h, (60, 110, 50))
    bush(sc, 0.85 * w, 0.75 * h, 0.13 * w, (80, 124, 58))
    rocks(sc, 0.93 * h, 0.1 * w, 0.07 * w, 7, 0.045 * w)
    car(sc, 0.5 * w, 0.86 * h, 0.5 * w, (40, 84, 170), facing=1)
    pole_and_cables(sc, 0.08 * w, 0.74 * h, 0.6 * h, [(w + 5.0, 0.2 * h, 0.08 * h)])
    sc.ann("sky", s)
    sc.ann("mountain", near, snow)
    sc.ann("snow cap", snow)
    sc.ann("far mountains", far, far_snow)
    sc.ann("mountains", near, snow, far, far_snow)
    sc.ann("ground", g, sc.shadows)
    sc.ann("roadside", g)
    sc.ann("car shadow", sc.shadows[-1])


def scene_park(sc: Scene) -> None:
    h, w, rng = sc.h, sc.w, sc.rng
    hor = 0.4 * h
    sun_at = (0.12 * h, 0.86 * w, 0.035 * min(h, w))
    s = sky(sc, hor, sun_at, top=(70, 128, 200))
    sun(sc, *sun_at)
    clouds = [cloud(sc, 0.14 * h, 0.2 * w, 0.05 * w), cloud(sc, 0.08 * h, 0.52 * w, 0.04 * w)]
    birds(sc, 0.22 * h, 0.42 * w, 0.08 * w, 12, 0.008 * w)
    hills = sc.paint(ridge(sc, hor, 0.07 * h, 50, 0.05), tex((92, 132, 96), coarse=0.2, gy=0.1), "hills")
    treeline = np.zeros((h, w), dtype=bool)
    for x in np.linspace(0.0, w, 14):
        treeline |= sc.blob(hor - 0.015 * h, x + rng.uniform(-20, 20), 0.05 * h, 0.045 * w, rough=0.2, cell=6)
    tl = sc.paint(treeline, tex((52, 92, 56), mid=0.3, fine=0.15, gy=0.15), "treeline")
    g = ground(sc, hor, far=(116, 164, 80), near=(70, 130, 48))
    pond(sc, 0.66 * h, 0.42 * w, 0.12 * h, 0.26 * w)
    tree(sc, 0.82 * w, 0.7 * h, 0.5 * h, (56, 108, 46))
    tree(sc, 0.08 * w, 0.55 * h, 0.3 * h, (84, 126, 54))
    bench(sc, 0.68 * w, 0.8 * h, 0.14 * w)
    ball(sc, 0.9 * h, 0.15 * w, 0.035 * w, (210, 40, 40))
    rocks(sc, 0.8 * h, 0.4 * w, 0.12 * w, 6, 0.028 * w)
    flowers(sc, 0.85 * h, 0.99 * h, 0.3 * w, 0.6 * w, 60, [(250, 250, 250), (240, 200, 40)])
    sc.ann("sky", s)
    sc.ann("sky", s, clouds)
    sc.ann("hills", hills)
    sc.ann("treeline", tl)
    sc.ann("ground", g, sc.shadows)


def scene_yard(sc: Scene) -> None:
    h, w = sc.h, sc.w
    hor = 0.5 * h
    sun_at = (0.1 * h, 0.62 * w, 0.035 * min(h, w))
    s = sky(sc, hor, sun_at, top=(92, 140, 210))
    sun(sc, *sun_at)
    cloud(sc, 0.2 * h, 0.85 * w, 0.05 * w)
    g = ground(sc, hor, far=(128, 158, 86), near=(84, 132, 56))
    drive = sc.paint(sc.poly([(0.55 * w, 0.66 * h), (0.86 * w, 0.66 * h), (w + 1, 0.8 * h),
                              (w + 1, h + 1), (0.62 * w, h + 1)]),
                     tex((168, 164, 156), fine=0.1, mid=0.1, gy=0.1), "driveway")
    house(sc, 0.3 * w, 0.72 * w, 0.66 * h, 0.26 * h, 0.15 * h, (170, 196, 214), (74, 74, 84), n_windows=3)
    tree(sc, 0.12 * w, 0.72 * h, 0.55 * h, (62, 116, 48), fruit=True)
    bush(sc, 0.27 * w, 0.7 * h, 0.05 * w)
    fence(sc, 0.0, 0.52 * w, 0.86 * h, 0.1 * h, 0.045 * w, rgb=(150, 108, 70))
    car(sc, 0.8 * w, 0.88 * h, 0.3 * w, (196, 48, 40), facing=-1)
    ball(sc, 0.93 * h, 0.4 * w, 0.028 * w, (40, 110, 200))
    flowers(sc, 0.9 * h, 0.99 * h, 0.02 * w, 0.3 * w, 40, [(240, 80, 140), (250, 250, 250)])
    sc.ann("sky", s)
    sc.ann("lawn", g)
    sc.ann("ground", g, sc.shadows, drive)
    sc.ann("driveway", drive)


#: (image_id, (height, width), scene builder)
SCENES = (
    (1, (768, 1024), scene_farm),
    (2, (1024, 768), scene_road),
    (3, (750, 1125), scene_park),
    (4, (600, 900), scene_yard),
)

#: the image and annotation position that store their bbox as ints, as some real files do
INT_BBOX = (3, 5)


# --------------------------------------------------------------------------- SA-1B records

def sam_crop_boxes(h: int, w: int, n_layers: int = 2, overlap_ratio: float = 512 / 1500):
    """SAM's automatic mask generator crop windows (layer, [x0, y0, x1, y1]); layer 0 = full image."""
    boxes = [(0, [0, 0, w, h])]
    short = min(h, w)
    for layer in range(n_layers):
        n = 2 ** (layer + 1)
        overlap = int(overlap_ratio * short * (2 / n))
        cw = int(math.ceil((overlap * (n - 1) + w) / n))
        ch = int(math.ceil((overlap * (n - 1) + h) / n))
        for x0 in [int((cw - overlap) * i) for i in range(n)]:
            for y0 in [int((ch - overlap) * i) for i in range(n)]:
                boxes.append((layer + 1, [x0, y0, min(x0 + cw, w), min(y0 + ch, h)]))
    return boxes


def sa1b_bbox(mask: np.ndarray) -> List[float]:
    return corpus._sa1b_bbox(mask)


def grid_point(rng, mask: np.ndarray, layer: int, box: Sequence[int]) -> List[float]:
    """A point of SAM's prompt grid for this crop layer inside the mask, else a pixel centre."""
    n = 32 >> layer
    x0, y0, x1, y1 = box
    gx = [x0 + (x1 - x0) * (2 * i + 1) / (2 * n) for i in range(n)]
    gy = [y0 + (y1 - y0) * (2 * i + 1) / (2 * n) for i in range(n)]
    inside = [(x, y) for y in gy for x in gx if mask[int(y), int(x)]]
    if inside:
        x, y = inside[int(rng.integers(len(inside)))]
        return [float(x), float(y)]
    idx = np.flatnonzero(mask)
    y, x = divmod(int(idx[rng.integers(idx.size)]), mask.shape[1])
    return [x + 0.5, y + 0.5]


def f32(x: float) -> float:
    """Like SA-1B's scores: a float32 value written as a Python float."""
    return float(np.float32(x))


def build_image(image_id: int, shape: Tuple[int, int], builder, seed: int):
    """Paint one scene; return (record, masks, rgb uint8 image)."""
    h, w = shape
    rng = np.random.default_rng([seed, image_id])
    sc = Scene(rng, h, w)
    builder(sc)

    # annotations: visible pixels of each primitive group; drop empty and duplicate masks
    masks: List[np.ndarray] = []
    counts: List[str] = []
    seen = set()
    for _name, ids in sc.specs:
        m = np.isin(sc.leaf, ids)
        if not m.any():
            continue
        c = sarle.encode(m)["counts"]
        if c in seen:
            continue
        seen.add(c)
        masks.append(m)
        counts.append(c)

    n = len(masks)
    order = rng.permutation(n)
    masks = [masks[i] for i in order]
    counts = [counts[i] for i in order]
    crops = sam_crop_boxes(h, w)
    ids = (int(rng.integers(400_000_000, 600_000_000)) + np.cumsum(rng.integers(1, 60, n))).tolist()
    margin = 20  # SAM drops crop masks within 20 px of an inner crop edge
    annotations = []
    for k, (m, c) in enumerate(zip(masks, counts)):
        bbox = sa1b_bbox(m)
        bx0, by0, bx1, by1 = bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]
        fits = []
        for layer, (cx0, cy0, cx1, cy1) in crops[1:]:
            ok_l = cx0 == 0 or bx0 >= cx0 + margin
            ok_t = cy0 == 0 or by0 >= cy0 + margin
            ok_r = cx1 == w or bx1 < cx1 - margin
            ok_b = cy1 == h or by1 < cy1 - margin
            if ok_l and ok_t and ok_r and ok_b and bx0 >= cx0 and by0 >= cy0 and bx1 < cx1 and by1 < cy1:
                fits.append((layer, [cx0, cy0, cx1, cy1]))
        layer, box = 0, [0, 0, w, h]
        if fits and rng.random() < 0.2:
            layer, box = fits[int(rng.integers(len(fits)))]
        iou = float(np.clip(rng.normal(0.955, 0.022), 0.88, 1.03))
        annotations.append({
            "id": int(ids[k]),
            "segmentation": {"size": [h, w], "counts": c},
            "bbox": bbox,
            "area": int(np.count_nonzero(m)),
            "predicted_iou": f32(iou),
            "point_coords": [grid_point(rng, m, layer, box)],
            "stability_score": f32(rng.uniform(0.92, 0.995)),
            "crop_box": [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])],
        })
    best = max(range(n), key=lambda i: annotations[i]["predicted_iou"])
    if annotations[best]["predicted_iou"] <= 1.0:
        annotations[best]["predicted_iou"] = f32(1.0 + rng.uniform(0.002, 0.015))
    if image_id == INT_BBOX[0]:
        a = annotations[INT_BBOX[1]]
        a["bbox"] = [int(v) for v in a["bbox"]]
    record = {
        "image": {"image_id": image_id, "width": w, "height": h, "file_name": f"sa_{image_id}.jpg"},
        "annotations": annotations,
    }
    rgb = np.clip(np.rint(sc.img), 0, 255).astype(np.uint8)
    return record, masks, rgb


# --------------------------------------------------------------------------- checks and output

KEYS = ["id", "segmentation", "bbox", "area", "predicted_iou", "point_coords", "stability_score", "crop_box"]


def self_check(record, masks, rgb) -> None:
    """Decode every annotation with sarle and check it against what was drawn."""
    img = record["image"]
    h, w = img["height"], img["width"]
    assert rgb.shape == (h, w, 3), rgb.shape
    anns = record["annotations"]
    assert 30 <= len(anns) <= 70, f"{img['file_name']}: {len(anns)} annotations"
    assert len({a["id"] for a in anns}) == len(anns)
    for a, m in zip(anns, masks):
        assert list(a) == KEYS, list(a)
        seg = a["segmentation"]
        assert seg["size"] == [h, w]
        got = sarle.decode(seg)
        assert got.shape == (h, w) and np.array_equal(got, m), f"decode mismatch for id {a['id']}"
        assert a["area"] == int(m.sum()) == int(sarle.area(seg))
        box = [float(v) for v in a["bbox"]]
        if a["area"]:
            tx, ty, tw, th = sarle.bbox(seg).tolist()  # pycocotools toBbox
            assert box == [tx, ty, tw - 1, th - 1], (box, (tx, ty, tw, th))
        else:
            assert box == [0.0, 0.0, 0.0, 0.0]
        (px, py), = a["point_coords"]
        assert 0 <= px < w and 0 <= py < h and m[int(py), int(px)], (a["id"], px, py)
        cx, cy, cw, ch = a["crop_box"]
        assert 0 <= cx and 0 <= cy and cx + cw <= w and cy + ch <= h
        assert cx <= box[0] and cy <= box[1] and box[0] + box[2] < cx + cw and box[1] + box[3] < cy + ch
        assert 0.8 < a["predicted_iou"] < 1.05 and 0.9 < a["stability_score"] < 1.0
    assert json.loads(json.dumps(record)) == record


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue()


def generate(seed: int):
    """[(image_id, jpeg bytes, json bytes, record, masks, rgb)] for the whole shard."""
    out = []
    all_ids = set()
    for image_id, shape, builder in SCENES:
        record, masks, rgb = build_image(image_id, shape, builder, seed)
        self_check(record, masks, rgb)
        ids = {a["id"] for a in record["annotations"]}
        assert not ids & all_ids, "annotation ids repeat across images"
        all_ids |= ids
        out.append((image_id, jpeg_bytes(rgb), json.dumps(record).encode("utf-8"), record, masks, rgb))
    anns = [a for item in out for a in item[3]["annotations"]]
    assert any(a["predicted_iou"] > 1 for a in anns)
    assert any(isinstance(a["bbox"][0], int) for a in anns)
    assert sum(a["crop_box"][2:] != [float(w), float(h)]
               for item in out for a in item[3]["annotations"]
               for h, w in [(item[3]["image"]["height"], item[3]["image"]["width"])]) >= 3
    return out


def members(items) -> List[Tuple[str, bytes]]:
    result = []
    for image_id, jpg, js, *_ in items:
        result.append((f"sa_{image_id}.jpg", jpg))
        result.append((f"sa_{image_id}.json", js))
    return result


def tar_bytes(files: List[Tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def overlay(record, rgb: np.ndarray, masks) -> np.ndarray:
    """A quick look: masks in random colours over the image, smallest on top."""
    out = rgb.astype(np.float64) * 0.45
    rng = np.random.default_rng(1)
    order = sorted(range(len(masks)), key=lambda i: -record["annotations"][i]["area"])
    for i in order:
        m = masks[i]
        col = rng.uniform(40, 255, 3)
        out[m] = out[m] * 0.4 + col * 0.55
        edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
        out[edge] = col
    return np.clip(out, 0, 255).astype(np.uint8)


def check(path: str, seed: int) -> int:
    expected = members(generate(seed))
    try:
        with tarfile.open(path, "r:") as tar:
            found = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    except (OSError, tarfile.TarError) as error:
        print(f"{path}: cannot read: {error}", file=sys.stderr)
        return 1
    if [n for n, _ in found] != [n for n, _ in expected]:
        print(f"{path}: members {[n for n, _ in found]} != {[n for n, _ in expected]}", file=sys.stderr)
        return 1
    bad = [n for (n, a), (_, b) in zip(found, expected) if n.endswith(".json") and a != b]
    if bad:
        print(f"{path}: JSON differs from a fresh generation: {', '.join(bad)}", file=sys.stderr)
        return 1
    jpeg_diff = [n for (n, a), (_, b) in zip(found, expected) if n.endswith(".jpg") and a != b]
    note = f" (JPEG bytes differ, libjpeg-dependent: {', '.join(jpeg_diff)})" if jpeg_diff else ""
    print(f"{path}: JSON members up to date{note}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="tar to write (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="verify that the JSON members of the existing tar are up to date; write nothing")
    ap.add_argument("--preview", metavar="DIR", help="also write overlay PNGs of the masks to DIR")
    args = ap.parse_args(argv)
    if args.check:
        return check(args.out, args.seed)
    items = generate(args.seed)
    data = tar_bytes(members(items))
    if len(data) > MAX_TAR_BYTES:
        print(f"tar would be {len(data)} bytes, over the {MAX_TAR_BYTES} limit", file=sys.stderr)
        return 1
    d = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(d, exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(data)
    print(f"wrote {args.out}: {len(data)} bytes")
    for image_id, jpg, js, record, masks, rgb in items:
        img = record["image"]
        print(f"  sa_{image_id}: {img['height']}x{img['width']}, {len(record['annotations'])} masks, "
              f"jpg {len(jpg)} B, json {len(js)} B")
        if args.preview:
            os.makedirs(args.preview, exist_ok=True)
            look = overlay(record, rgb, masks)
            Image.fromarray(look).save(os.path.join(args.preview, f"sa_{image_id}_masks.png"))
            Image.fromarray(rgb).save(os.path.join(args.preview, f"sa_{image_id}.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
