"""Hypothesis strategies for COCO RLE masks, built from run lengths.

Drawing masks pixel by pixel almost never produces the cases that break an
RLE codec: long runs, runs and deltas at the edges of the 5-bit groups of the
compressed string, a zero first run, empty and full masks, degenerate sizes.
So everything here draws *run lengths*, aimed at those edges, and builds
masks from them (see ``reference.mask_from_runs``).

Main strategies
---------------
``sized_runs(max_side)``    -> (h, w, runs), canonical, sum(runs) == h*w; small
                               enough to make a dense mask.
``big_runs(max_value, ...)`` -> (h, w, runs), canonical, runs and h*w possibly
                               huge (no dense mask); for the string and the
                               run-level functions.
``groups``, ``big_groups``  -> (h, w, [runs, ...]) of one size, for merge and iou.
``non_canonical(triples)``  -> (h, w, runs, canonical_runs): the same mask with
                               zero-length runs inserted.
``masks(max_side)``         -> dense bool masks from ``sized_runs``.
``structured_masks(...)``   -> seeded numpy masks (blobs, lines, holes,
                               fragments, checkerboards, noise, ...).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from reference import mask_from_runs

# Edges of the compressed string's 5-bit groups: a signed value needs one more
# group from 2**(5k - 1) on (16, 512, 16384, 2**19, 2**24, 2**29, 2**34);
# pycocotools breaks at 2**24 (a count of 6 characters everywhere overflows its
# string buffer), 2**29 (int shifts), 2**31 (int) and 2**32 (uint).
EDGES = (16, 32, 512, 1024, 16384, 2**19, 2**24, 2**29, 2**31, 2**32, 2**34)
BOUNDARY_VALUES = tuple(sorted({1, 2, 3, *(e + d for e in EDGES for d in (-1, 0, 1))}))
BOUNDARY_DELTAS = tuple(sorted({*BOUNDARY_VALUES, *(-v for v in BOUNDARY_VALUES)}))

# Sizes at and around the same edges, plus degenerate ones.
SIDE_VALUES = (1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 64, 100, 511, 512, 513,
               16383, 16384, 65535, 65536, 70000)


def sizes(max_side: int = 64) -> st.SearchStrategy[tuple[int, int]]:
    """(h, w) including 0x0, 0xN, Nx0, 1xN, Nx1 and sides at the 5-bit edges."""
    side = st.one_of(st.integers(1, max_side),
                     st.sampled_from([s for s in SIDE_VALUES if s <= max_side]))
    return st.one_of(
        st.tuples(side, side),
        st.just((0, 0)),
        st.tuples(st.just(0), side),
        st.tuples(side, st.just(0)),
        st.tuples(st.just(1), side),
        st.tuples(side, st.just(1)),
    )


def _run(draw, runs: list[int], lo: int, hi: int) -> int:
    """One run length in [lo, hi], aimed at the 5-bit group edges."""
    mode = draw(st.sampled_from(("edge", "delta", "small", "any", "all")))
    if mode == "edge":
        candidates = [v for v in BOUNDARY_VALUES if lo <= v <= hi]
        if candidates:
            return draw(st.sampled_from(candidates))
    elif mode == "delta" and len(runs) >= 2:
        # Written as runs[-2] + delta from index 3 on: aim the delta.
        base = runs[-2]
        candidates = [base + d for d in BOUNDARY_DELTAS if lo <= base + d <= hi]
        if candidates:
            return draw(st.sampled_from(candidates))
    elif mode == "small":
        return draw(st.integers(lo, min(hi, lo + 3)))
    elif mode == "all":
        return hi
    return draw(st.integers(lo, hi))


def _fill(draw, total: int, max_runs: int, max_value: int | None = None) -> list[int]:
    """Canonical runs summing exactly to ``total``, each at most ``max_value``.

    With ``max_value`` set, the last run may still be longer if ``max_runs``
    runs of ``max_value`` do not reach ``total``: callers keep ``total`` small
    enough, or accept that.
    """
    if total == 0:
        return [0]
    runs: list[int] = []
    remaining = total
    # A zero first run (mask starts with foreground) half of the time.
    if draw(st.booleans()):
        runs.append(0)
    cap = total if max_value is None else max_value
    while remaining > 0 and len(runs) < max_runs:
        r = _run(draw, runs, 1, min(remaining, cap))
        runs.append(r)
        remaining -= r
    while remaining:  # the rest, in runs of at most `cap` (alternating colours)
        r = min(remaining, cap)
        runs.append(r)
        remaining -= r
    return runs


@st.composite
def runs_with_total(draw, total: int, max_runs: int = 64, max_value: int | None = None):
    """Canonical runs summing exactly to ``total``, each at most ``max_value``."""
    return _fill(draw, total, max_runs, max_value)


@st.composite
def sized_runs(draw, max_side: int = 64, max_runs: int = 64):
    """(h, w, runs): canonical runs summing exactly to h*w, for dense masks."""
    h, w = draw(sizes(max_side))
    return h, w, _fill(draw, h * w, max_runs)


def _group(draw, first, min_size: int, max_size: int, max_runs: int, max_value=None):
    h, w, runs = draw(first)
    group = [runs]
    for _ in range(draw(st.integers(min_size, max_size)) - 1):
        if draw(st.integers(0, 5)) == 0:  # sometimes a duplicate: iou 1, merge of equals
            group.append(list(draw(st.sampled_from(group))))
        else:
            group.append(_fill(draw, h * w, max_runs, max_value))
    order = draw(st.permutations(range(len(group))))
    return h, w, [group[i] for i in order]


@st.composite
def groups(draw, min_size: int = 1, max_size: int = 4, max_side: int = 32, max_runs: int = 32):
    """(h, w, [runs, ...]): several canonical run lists of the same size (dense-able)."""
    return _group(draw, sized_runs(max_side, max_runs), min_size, max_size, max_runs)


@st.composite
def big_groups(draw, min_size: int = 1, max_size: int = 4, max_value: int = 2**34 + 1,
               max_runs: int = 16, max_total: int | None = None):
    """(h, w, [runs, ...]): like ``groups`` but from ``big_runs`` (no dense mask)."""
    return _group(draw, big_runs(max_value, max_runs, max_total), min_size, max_size, max_runs,
                  max_value)


@st.composite
def big_runs(draw, max_value: int = 2**34 + 1, max_runs: int = 24,
             max_total: int | None = None):
    """(h, w, runs): canonical runs summing to h*w, possibly huge.

    Runs are drawn first (up to ``max_value`` each, aimed at the 5-bit edges,
    deltas too); then a height is picked and the width made large enough,
    the leftover pixels becoming one more run.  ``max_total`` bounds h*w.
    """
    if max_total is None:
        max_total = max_value * max_runs
    runs: list[int] = [0] if draw(st.booleans()) else []
    n = draw(st.integers(0, max_runs))
    total = 0
    for _ in range(n):
        hi = min(max_value, max_total // 2 - total)
        if hi < 1:
            break
        r = _run(draw, runs, 1, hi)
        runs.append(r)
        total += r
    if total == 0:
        shapes = [(0, 0), (0, 5), (7, 0), (1, 1), (3, 4), (65536, 65537)]
        h, w = draw(st.sampled_from([s for s in shapes if s[0] * s[1] <= max_total]))
        if h * w == 0:
            return h, w, [0]
        return h, w, ([0, h * w] if runs == [0] else [h * w])  # full or empty
    h = draw(st.one_of(st.sampled_from([s for s in SIDE_VALUES if s <= total]),
                       st.integers(1, total)))
    w = -(-total // h)
    if draw(st.booleans()) and h * (w + 1) <= max_total:
        w += 1
    pad = h * w - total
    if pad and runs[-1] + pad <= max_value and draw(st.booleans()):
        runs[-1] += pad  # a longer last run
    else:
        while pad:  # more runs, alternating colours, none above max_value
            runs.append(min(pad, max_value))
            pad -= runs[-1]
    return h, w, runs


@st.composite
def non_canonical(draw, triples):
    """(h, w, runs, canonical_runs): the same mask with zero-length runs.

    A run ``r`` is split into ``a, 0, r - a`` (same colours, same pixels),
    possibly several times, and zero runs may be appended at the end.
    """
    h, w, runs = draw(triples)
    out = list(runs)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(out) - 1))
        a = draw(st.sampled_from([0, out[i], min(1, out[i])]))
        out[i:i + 1] = [a, 0, out[i] - a]
    out += [0] * draw(st.sampled_from([0, 1, 2]))
    return h, w, out, runs


def masks(max_side: int = 64, max_runs: int = 64) -> st.SearchStrategy[np.ndarray]:
    """Dense C-ordered bool masks from ``sized_runs``."""
    return sized_runs(max_side, max_runs).map(lambda t: mask_from_runs(t[2], t[0], t[1]))


# --------------------------------------------------------------------------
# Structured masks (seeded numpy drawings), SA-1B-like shapes
# --------------------------------------------------------------------------

KINDS = ("ellipses", "lines", "holes", "fragments", "checkerboard", "noise",
         "empty", "full", "frame", "columns")


def _ellipse(h: int, w: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    y = np.arange(h)[:, None]
    x = np.arange(w)[None, :]
    return ((y - cy) / max(ry, 0.5)) ** 2 + ((x - cx) / max(rx, 0.5)) ** 2 <= 1.0


def structured_mask(kind: str, h: int, w: int, seed: int = 0) -> np.ndarray:
    """A seeded (h, w) bool mask of the given kind (see ``KINDS``)."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), dtype=bool)
    if h == 0 or w == 0 or kind == "empty":
        return m
    if kind == "full":
        m[:] = True
    elif kind == "ellipses":
        for _ in range(rng.integers(1, 6)):
            m |= _ellipse(h, w, rng.uniform(0, h), rng.uniform(0, w),
                          rng.uniform(1, h), rng.uniform(1, w))
    elif kind == "holes":
        m |= _ellipse(h, w, h / 2, w / 2, h / 2, w / 2)
        for _ in range(rng.integers(1, 12)):
            m &= ~_ellipse(h, w, rng.uniform(0, h), rng.uniform(0, w),
                           rng.uniform(0.5, h / 6 + 1), rng.uniform(0.5, w / 6 + 1))
    elif kind == "lines":
        for _ in range(rng.integers(1, 8)):
            r = rng.integers(0, 3)
            if r == 0:
                m[rng.integers(0, h), :] = True  # one-pixel row: a run per column
            elif r == 1:
                m[:, rng.integers(0, w)] = True
            else:
                n = min(h, w)
                y0, x0 = rng.integers(0, h - n + 1), rng.integers(0, w - n + 1)
                m[y0 + np.arange(n), x0 + np.arange(n)] = True
    elif kind == "fragments":
        for _ in range(rng.integers(1, 200)):
            y, x = rng.integers(0, h), rng.integers(0, w)
            m[y:y + rng.integers(1, 4), x:x + rng.integers(1, 4)] = True
    elif kind == "checkerboard":
        cell = int(rng.integers(1, 5))
        yy, xx = np.indices((h, w))
        m = ((yy // cell + xx // cell) % 2).astype(bool)
    elif kind == "noise":
        m = rng.random((h, w)) < rng.uniform(0.05, 0.95)
    elif kind == "frame":
        m[:] = True
        m[1:-1, 1:-1] = False
    elif kind == "columns":
        # Whole columns on and off: runs that span column boundaries.
        m[:, rng.random(w) < 0.5] = True
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return m


def structured_masks(max_side: int = 64) -> st.SearchStrategy[np.ndarray]:
    """Seeded structured masks of every kind, at sizes from ``sizes``."""
    return st.builds(lambda kind, hw, seed: structured_mask(kind, hw[0], hw[1], seed),
                     st.sampled_from(KINDS), sizes(max_side), st.integers(0, 2**32 - 1))


def sa1b_like_mask(seed: int, h: int = 1500, w: int = 2250) -> np.ndarray:
    """An SA-1B-sized object mask: a few overlapping blobs with holes and specks."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), dtype=bool)
    cy, cx = rng.uniform(0.2 * h, 0.8 * h), rng.uniform(0.2 * w, 0.8 * w)
    for _ in range(rng.integers(1, 5)):
        m |= _ellipse(h, w, cy + rng.normal(0, h / 10), cx + rng.normal(0, w / 10),
                      rng.uniform(10, h / 3), rng.uniform(10, w / 3))
    for _ in range(rng.integers(0, 6)):
        m &= ~_ellipse(h, w, cy + rng.normal(0, h / 10), cx + rng.normal(0, w / 10),
                       rng.uniform(2, 40), rng.uniform(2, 40))
    specks = rng.random((h, w)) < 0.0005
    return m ^ specks
