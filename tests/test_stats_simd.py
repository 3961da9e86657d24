"""The SIMD area/bbox kernel (``src/sarle/_stats_simd.h``) against the scalar parser.

``sarle.area`` and ``sarle.bbox`` (and everything built on ``stream_stats``)
first try the SIMD kernel: it takes valid strings of masks of at most 2**23
pixels with fewer than 2**19 columns and leaves everything else, every error
included, to the scalar parser. Each test here runs under every kernel level
this CPU has (``avx512``, ``avx2``, ``scalar``: ``_rle._set_stats_simd``) and
compares with the scalar level on the same input, so results *and* error
messages must be identical; valid strings are also checked against
``reference`` and, where it is right, pycocotools. ``_rle._stats_simd_one``
runs the kernel alone, to check that it takes the strings it should (so the
fast path is really exercised) and leaves the others.

The boundary parser (``sarle_boundaries_simd``: the same first phase, then
the start and end of every foreground run stored, what ``iou`` and ``merge``
parse into) runs at either SIMD level and is checked the same way, through
``_rle.boundaries`` and alone (``_rle._boundaries_simd_one``): it takes valid
strings of at most 2**23 pixels whose runs after the first are all non-empty.

The strings are aimed at the kernel's internal edges: its 32- and 64-character
blocks (values of 1 to 9 characters starting at every position around the
block edges, strings just shorter and longer than a block), its 2048-value
buffer, zero-length foreground runs, padded (non-canonical) values, negative
(sign-extended) deltas, and sizes at the 2**23-pixel and 2**19-column limits.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference as ref
import sarle
from common import coco_mask
from sarle import _rle
from strategies import sa1b_like_mask, structured_mask

LEVELS = {"scalar": 0, "avx2": 1, "avx512": 2}
BEST = _rle._stats_simd_levels()[1]
LEVEL_PARAMS = [
    pytest.param(level, id=name, marks=pytest.mark.skipif(
        level > BEST, reason=f"no {name} kernel on this CPU or build"))
    for name, level in LEVELS.items()
]

MAX_TOTAL = 2**23   # the kernel's limits
MAX_COLS = 2**19


@pytest.fixture(autouse=True, scope="module")
def _restore_level():
    yield
    _rle._set_stats_simd(BEST)


# ---------------------------------------------------------------------------
# Building strings


@functools.lru_cache(maxsize=1 << 16)
def encode_value(x: int, extra: int = 0) -> str:
    """COCO characters of one value, with ``extra`` redundant sign groups (still valid).

    Cached: the position sweeps write the same few values millions of times."""
    groups = []
    while True:
        group = x & 0x1F
        x >>= 5
        groups.append(group)
        if x == (-1 if group & 0x10 else 0):
            break
    groups += [0x1F if x < 0 else 0] * extra
    return "".join(chr(48 + g + (0x20 if i < len(groups) - 1 else 0))
                   for i, g in enumerate(groups))


def string_of(runs: list[int], extra: dict[int, int] | None = None) -> str:
    """The string of ``runs`` as written (not canonicalised); value i padded by ``extra[i]``."""
    extra = extra or {}
    return "".join(encode_value(r - runs[i - 2] if i > 2 else r, extra.get(i, 0))
                   for i, r in enumerate(runs))


def fit(runs: list[int], h: int) -> tuple[int, int, list[int]]:
    """(h, w, runs) with w the fewest columns holding ``runs``; the rest is background."""
    total = sum(runs)
    w = max(1, -(-total // h))
    pad = h * w - total
    runs = list(runs)
    if pad:
        if len(runs) % 2:
            runs[-1] += pad
        else:
            runs.append(pad)
    return h, w, runs


def kernel_takes(h: int, w: int, runs: list[int], s: str) -> bool:
    """Whether the SIMD kernel should take this valid string."""
    return (0 < h * w <= MAX_TOTAL and w < MAX_COLS and 0 not in runs[1::2]
            and _longest_value(s) <= 8)


def boundary_kernel_takes(h: int, w: int, runs: list[int], s: str) -> bool:
    """Whether the SIMD boundary parser should take this valid string."""
    return (0 < h * w <= MAX_TOTAL and 0 not in runs[1:] and _longest_value(s) <= 8)


@functools.lru_cache(maxsize=16)
def _longest_value(s: str) -> int:
    """Characters of the longest value of ``s`` (cached: both predicates ask of each string)."""
    return max(_value_lengths(s))


def ref_boundaries(runs: list[int]) -> list[int]:
    """Canonical ``[start, end, ...]`` of the foreground runs (touching runs joined)."""
    out: list[int] = []
    pos = 0
    for i, run in enumerate(runs):
        if i % 2 and run:
            if out and out[-1] == pos:
                out[-1] = pos + run
            else:
                out += [pos, pos + run]
        pos += run
    return out


def _value_lengths(s: str) -> list[int]:
    lengths, n = [], 0
    for c in s:
        n += 1
        if not (ord(c) - 48) & 0x20:
            lengths.append(n)
            n = 0
    return lengths


# ---------------------------------------------------------------------------
# Checking


def outcome(level: int, counts, h: int, w: int):
    """``(area, bbox)`` from the public API at ``level`` and the boundaries IoU and
    merge parse (each, or its error text)."""
    _rle._set_stats_simd(level)
    rle = {"size": [h, w], "counts": counts}
    try:
        stats = int(sarle.area(rle)), sarle.bbox(rle).tolist()
    except ValueError as error:
        stats = str(error)
    try:
        runs = _rle.boundaries(counts, h, w).tolist()
    except ValueError as error:
        runs = str(error)
    return stats, runs


def check_valid(level, h: int, w: int, runs: list[int], s: str | None = None) -> None:
    """A valid string: every way agrees with the reference, the kernel takes it if it should.

    ``level``: one SIMD level, or several, all checked against one reference."""
    levels = (level,) if isinstance(level, int) else tuple(level)
    if s is None:
        s = ref.string_from_runs(runs)
    canonical = 0 not in runs[1:] and s == ref.string_from_runs(runs)
    want = (ref.area(runs), ref.bbox(runs, h, w)), ref_boundaries(runs)
    area, (x0, y0, bw, bh) = want[0]
    stats = (area, x0, y0, x0 + bw - 1, y0 + bh - 1) if bw else (0, 0, 0, -1, -1)
    kernel, boundary_kernel = kernel_takes(h, w, runs, s), boundary_kernel_takes(h, w, runs, s)
    assert outcome(0, s, h, w) == want
    for lv in levels:
        assert outcome(lv, s, h, w) == want
        assert outcome(lv, s.encode(), h, w) == want
        _rle._set_stats_simd(lv)
        bounds = _rle._boundaries_simd_one(s, h, w)
        if lv and boundary_kernel:
            assert bounds is not None and bounds.tolist() == want[1]
        else:
            assert bounds is None
        _rle._set_stats_simd(lv)
        assert _rle.stats_one(s, h, w, True) == stats
        simd = _rle._stats_simd_one(s, h, w)
        if lv and kernel:
            assert simd == stats
        else:
            assert simd is None
    if canonical and coco_mask is not None and h * w < 2**31:
        coco = {"size": [h, w], "counts": s.encode()}
        assert int(coco_mask.area(coco)) == area
        assert coco_mask.toBbox(coco).tolist() == want[0][1]


def check_same(level: int, counts, h: int, w: int) -> None:
    """Any string: the same result or the same error text as the scalar parser."""
    assert outcome(level, counts, h, w) == outcome(0, counts, h, w)


# ---------------------------------------------------------------------------
# Every value length at every position around the block edges


# A value of 1, 2, 3, 4 and 5 characters (canonical), and its negation.
VALUE_OF_LENGTH = {1: 7, 2: 300, 3: 9000, 4: 300000, 5: 2**22}


def _positions_case(length: int, start: int, tail: int, lead: int):
    """Runs of 1 (one character each), the ``start``-th written as a ``length``-character
    value (padded from 6 on; at least as long as it needs), the next one of its
    colour back down by as much, ``tail`` more values, then the padding run.
    First count ``lead``."""
    x = VALUE_OF_LENGTH.get(length, 7)
    runs = [lead] + [1] * (start + tail + 2)
    runs[start] += x
    h, w, runs = fit(runs, 13)
    value = runs[start] - runs[start - 2] if start > 2 else runs[start]
    extra = {start: max(0, length - len(encode_value(value)))}
    return h, w, runs, string_of(runs, extra)


def check_stats(level: int, h: int, w: int, runs: list[int], s: str) -> None:
    """A lighter check_valid: the kernel alone and stats_one, at ``level`` and 0."""
    x0, y0, bw, bh = ref.bbox(runs, h, w)
    want = (ref.area(runs), x0, y0, x0 + bw - 1, y0 + bh - 1) if bw else (0, 0, 0, -1, -1)
    _rle._set_stats_simd(level)
    simd = _rle._stats_simd_one(s, h, w)
    assert simd == (want if level and kernel_takes(h, w, runs, s) else None)
    assert _rle.stats_one(s, h, w, True) == want
    bounds = _rle._boundaries_simd_one(s, h, w)
    if level and boundary_kernel_takes(h, w, runs, s):
        assert bounds is not None and bounds.tolist() == ref_boundaries(runs)
    else:
        assert bounds is None
    assert _rle.boundaries(s, h, w).tolist() == ref_boundaries(runs)
    _rle._set_stats_simd(0)
    assert _rle.stats_one(s, h, w, True) == want


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 6, 8, 9])
def test_value_at_every_position(level, length):
    # Block edges fall every 32 (AVX2) or 64 (AVX-512) characters after the
    # first three values; tails end the string just before and after an edge.
    for start in range(0, 136):
        for tail in (0, 1, 31, 32, 33, 63, 64, 65):
            h, w, runs, s = _positions_case(length, start, tail, 1)
            check_stats(level, h, w, runs, s)


@pytest.mark.slow
@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 6, 7, 8, 9, 13])
def test_value_at_every_position_more(length):
    # Every level this CPU has, each case built and its reference computed once.
    for lead in (1, 20, 600, 20000):
        for start in range(0, 200):
            for tail in (0, 1, 2, 3, 29, 30, 31, 32, 33, 34, 61, 62, 63, 64, 65, 66, 67, 130):
                h, w, runs, s = _positions_case(length, start, tail, lead)
                check_valid(range(BEST + 1), h, w, runs, s)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_every_start_pattern(level):
    # Phase 1 packs the values starting in each 8 characters with a table of
    # the 256 patterns (AVX2) or VPCOMPRESSW (AVX-512). Here the characters of
    # four blocks start values in the pattern m (bit i % 8 at block position
    # i), for every m but 0: the values are zeros of 1 to 8 characters
    # ('P' * k + '0'), so every count is 1 and only the packing decides the
    # result. (Blocks start after the three first values, "111".)
    for m in range(1, 256):
        body = "".join("0" if m >> (i % 8) & 1 else "P" for i in range(1, 4 * 64 + 1))
        s = "111" + body + "0"
        n = len(_value_lengths(s))
        check_stats(level, n, 1, [1] * n, s)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_string_lengths_around_blocks(level):
    # Every string length from 1 to 200 characters, all values one character.
    for n in range(1, 201):
        runs = [1] * n
        h, w, runs = fit(runs, 7)
        check_valid(level, h, w, runs)


# ---------------------------------------------------------------------------
# Hypothesis: runs whose values have chosen lengths, at chosen places


# Values of exactly 1..5 characters: magnitudes (smallest, largest) of the
# positive ones; a negative one of the same length reaches one further.
LENGTH_RANGES = {1: (0, 15), 2: (16, 511), 3: (512, 16383), 4: (16384, 2**19 - 1),
                 5: (2**19, 2**23 - 1)}
# Lengths of the values Hypothesis does not place: mostly short, as in SA-1B.
FILL_LENGTHS = (1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5)


@st.composite
def shaped_runs(draw, max_values: int = 160):
    """(h, w, runs): canonical, within the kernel's limits, values of chosen lengths.

    Hypothesis places up to 8 values of a chosen length (1 to 5 characters;
    anywhere in the length's range or at either end of it; positive or
    negative deltas) at chosen indices; the other values come from a seeded
    generator.
    """
    n = draw(st.integers(1, max_values))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    placed = draw(st.dictionaries(
        st.integers(0, n - 1),
        st.tuples(st.integers(1, 5), st.sampled_from(["any", "low", "high"]), st.booleans()),
        max_size=8))
    runs: list[int] = []
    budget = MAX_TOTAL // 2
    for m in range(n):
        if m in placed:
            length, where, negative = placed[m]
        else:
            length = int(rng.choice(FILL_LENGTHS))
            where = "any"
            negative = bool(rng.integers(2))
        lo, hi = LENGTH_RANGES[length]
        if negative:
            lo, hi = lo + 1, hi + 1
        magnitude = lo if where == "low" else hi if where == "high" else int(rng.integers(lo, hi + 1))
        base = runs[m - 2] if m > 2 else 0
        if negative and base - magnitude >= 1:
            count = base - magnitude
        else:
            count = base + magnitude
        if m and count == 0:
            count = 1
        if sum(runs) + count > budget:   # keep within the kernel's size
            count = int(rng.integers(1, 17))
        runs.append(count)
    if runs == [0]:
        runs.append(1)
    h = draw(st.one_of(st.integers(1, 40), st.sampled_from([1, 2, 3, 16, 17, 255, 1000, 4096])))
    return fit(runs, max(h, -(-sum(runs) // (MAX_COLS - 1))))


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@given(shaped_runs())
def test_shaped_runs(level, hwr):
    h, w, runs = hwr
    check_valid(level, h, w, runs)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@given(shaped_runs(), st.data())
def test_padded_values(level, hwr, data):
    # Redundant sign groups: 6 to 8 characters are still the kernel's, 9 or
    # more go to the scalar parser (up to 13 parse; longer overflow).
    h, w, runs = hwr
    extra = data.draw(st.dictionaries(st.integers(0, len(runs) - 1), st.integers(1, 12),
                                      max_size=4))
    s = string_of(runs, extra)
    if max(_value_lengths(s)) <= 13:
        check_valid(level, h, w, runs, s)
    else:   # past 13 characters a value no longer fits in 64 bits
        stats, bounds = outcome(0, s, h, w)
        assert "does not fit in 64 bits" in stats and "does not fit in 64 bits" in bounds
        check_same(level, s, h, w)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@given(shaped_runs(), st.data())
def test_zero_length_runs(level, hwr, data):
    # Non-canonical: a run split around an empty run of the other colour.
    # An empty foreground run leaves the string to the scalar parser.
    h, w, runs = hwr
    out = list(runs)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(out) - 1))
        a = data.draw(st.integers(0, out[i]))
        out[i:i + 1] = [a, 0, out[i] - a]
    out += [0] * data.draw(st.sampled_from([0, 1, 2]))
    check_valid(level, h, w, out, string_of(out))


# ---------------------------------------------------------------------------
# Malformed strings: the same error as the scalar parser


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@pytest.mark.parametrize("colour", ["background", "foreground"])
def test_negative_counts_with_the_right_sum(level, colour):
    # A negative count and the next one of its colour larger by as much: the
    # sum is right, only the sign check can tell.
    for at in range(2 if colour == "background" else 1, 150, 2):
        runs = [1] * 160
        runs[at] = -3
        runs[at + 2] = 5
        h, w, runs = fit(runs, 7)
        s = string_of(runs)
        got = outcome(level, s, h, w)
        assert got == outcome(0, s, h, w)
        assert all("negative run length -3" in text for text in got)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_sums_that_wrap_32_bits(level):
    # Counts of 2**22 summing to 2**33 + 2**23, which is h * w = 2**23 modulo
    # 2**32: in 32-bit lanes only the running end check can tell.
    h, w = 4096, 2048
    runs = [2**22] * 2048 + [2**23]
    s = string_of(runs)
    got = outcome(level, s, h, w)
    assert got == outcome(0, s, h, w)
    assert all("run lengths exceed h*w" in text for text in got)


def _near_edges(n: int):
    """Positions 0..n-1, often next to a block edge (32k + 3, after "111"-like
    first values) or among the last three."""
    edges = [p for k in range(0, n // 32 + 1) for p in range(32 * k, 32 * k + 6) if p < n]
    edges += [p for p in range(n - 3, n) if p >= 0]
    return st.one_of(st.sampled_from(edges), st.integers(0, n - 1))


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@given(shaped_runs(), st.data())
def test_malformed_same_error(level, hwr, data):
    h, w, runs = hwr
    s = ref.string_from_runs(runs).encode()
    kind = data.draw(st.sampled_from(["char", "alphabet", "cut", "append", "size", "splice"]))
    if kind == "char":         # a byte outside '0'..'o'
        i = data.draw(_near_edges(len(s)))
        bad = data.draw(st.sampled_from(b"/p~ \x00\x7f\x80\xff"))
        s = s[:i] + bytes([bad]) + s[i + 1:]
    elif kind == "alphabet":   # another character of the alphabet: other values, other sums
        i = data.draw(_near_edges(len(s)))
        s = s[:i] + bytes([data.draw(st.integers(48, 111))]) + s[i + 1:]
    elif kind == "cut":        # truncated, possibly inside a value
        s = s[:data.draw(_near_edges(len(s)))]
    elif kind == "append":
        s += bytes(data.draw(st.lists(st.integers(48, 111), min_size=1, max_size=70)))
    elif kind == "size":       # runs that do not sum to h * w
        h += data.draw(st.sampled_from([-1, 1]))
        h = max(h, 1)
    else:                      # a continuation run across a block edge
        i = data.draw(_near_edges(len(s)))
        s = s[:i] + b"o" * data.draw(st.integers(1, 14)) + s[i:]
    check_same(level, s, h, w)
    if s.isascii():
        check_same(level, s.decode(), h, w)


def _alias(c: int) -> int:
    """A byte outside '0'..'o' that a careless decoder would read as ``c``: the same
    low bits, so the same 5-bit group (for '0'..'O', a last group)."""
    if c < 64:
        return c - 48      # '0'..'?' -> 0x00..0x0F
    if c < 80:
        return c + 0xB0    # '@'..'O' -> 0xF0..0xFF (negative as a signed byte)
    return c + 0x80        # 'P'..'o' -> 0xD0..0xEF


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_bad_bytes_everywhere(level):
    # Every position of strings longer than a few blocks, a bad byte that
    # decodes like the good one it replaces: only the character check can
    # tell (sums and counts are unchanged), and the error must be E_CHAR.
    for seed, (h, w) in enumerate([(40, 30), (7, 300)]):
        s = ref.string_from_runs(ref.runs_from_mask(structured_mask("fragments", h, w, seed)))
        raw = s.encode()
        assert len(raw) > 140
        for i in range(len(raw)):
            bad = raw[:i] + bytes([_alias(raw[i])]) + raw[i + 1:]
            got = outcome(level, bad, h, w)
            assert got == outcome(0, bad, h, w)
            assert all(text.startswith("counts: invalid character") for text in got)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@given(st.text(alphabet=st.characters(min_codepoint=44, max_codepoint=115), max_size=150),
       st.integers(1, 60), st.integers(1, 60))
def test_arbitrary_strings(level, s, h, w):
    check_same(level, s, h, w)


# ---------------------------------------------------------------------------
# Sizes at the limits: the float row quotient, the 2**23 and 2**19 edges


LIMIT_SIZES = [
    (16, MAX_COLS - 1),        # most columns, most pixels with them: largest S / h
    (3, MAX_COLS - 1), (13, MAX_COLS - 1), (1, MAX_COLS - 1),
    (1, MAX_COLS), (16, MAX_COLS), (17, MAX_COLS - 1),   # past a limit: scalar
    (32, 2**18), (4096, 2048), (2896, 2896), (4097, 2047), (MAX_TOTAL, 1),
    (MAX_TOTAL + 1, 1), (2**12 + 1, 2**11), (3, 2796203),
]


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@pytest.mark.parametrize("h, w", LIMIT_SIZES)
def test_single_runs_at_the_limits(level, h, w):
    # One foreground run: its start row alone is y0, so every start position
    # checks the float quotient. Starts at row 0, 1, h-2, h-1 of columns near
    # the first, the middle and the last; lengths within and across columns.
    total = h * w
    for col in sorted(c for c in {0, 1, w // 3, w // 2, w - 2, w - 1} if 0 <= c < w):
        for row in sorted(r for r in {0, 1, h - 2, h - 1} if 0 <= r < h):
            start = col * h + row
            lengths = {1, h - row, h - row + 1, h + 1, total - start}
            for length in sorted(n for n in lengths if 1 <= n <= total - start):
                runs = [start, length, total - start - length]
                check_valid(level, h, w, runs if runs[-1] else runs[:-1])


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@pytest.mark.parametrize("h, w", LIMIT_SIZES[:12])
@given(data=st.data())
def test_many_runs_at_the_limits(level, h, w, data):
    total = h * w
    cuts = sorted(set(data.draw(st.lists(st.integers(1, total - 1), min_size=1, max_size=40))))
    bounds = [0] + cuts + [total]
    runs = [b - a for a, b in zip(bounds, bounds[1:])]
    check_valid(level, h, w, runs)


# ---------------------------------------------------------------------------
# Real shapes: long strings (many 2048-value buffers), batches, threads


def _coco(mask: np.ndarray) -> tuple[int, int, list[int], str]:
    h, w = mask.shape
    runs = ref.runs_from_mask(mask)
    return h, w, runs, ref.string_from_runs(runs)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@pytest.mark.parametrize("kind", ["noise", "checkerboard", "fragments", "columns", "holes", "lines"])
def test_structured_masks(level, kind):
    for seed, (h, w) in enumerate([(300, 280), (97, 1001), (1, 5000), (5000, 1)]):
        h, w, runs, s = _coco(structured_mask(kind, h, w, seed))
        check_valid(level, h, w, runs, s)


def _batch(seed: int, n: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rles = []
    for i in range(n):
        kind = ["noise", "holes", "fragments", "ellipses", "empty", "full"][i % 6]
        h, w = int(rng.integers(1, 90)), int(rng.integers(1, 90))
        mask = structured_mask(kind, h, w, int(rng.integers(2**31)))
        rles.append({"size": [h, w], "counts": ref.string_from_runs(ref.runs_from_mask(mask))})
    return rles


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_batches_and_threads(level):
    rles = _batch(1, 300)
    want_area = [ref.area(ref.runs_from_string(r["counts"])) for r in rles]
    want_bbox = [ref.bbox(ref.runs_from_string(r["counts"]), *r["size"]) for r in rles]
    _rle._set_stats_simd(level)
    for threads in (1, 2, 3, None):
        assert sarle.area(rles, threads=threads).tolist() == want_area
        assert sarle.bbox(rles, threads=threads).tolist() == want_bbox
    # A bad mask in the middle: the same message, naming its index.
    bad = list(rles)
    bad[200] = {"size": bad[200]["size"], "counts": bad[200]["counts"][:-1] + "~"}
    bad[250] = {"size": bad[250]["size"], "counts": bad[250]["counts"] + "0"}
    errors = set()
    for lv in (level, 0):
        _rle._set_stats_simd(lv)
        for threads in (1, 2, None):
            for fn in (sarle.area, sarle.bbox):
                with pytest.raises(ValueError, match="^mask 200: counts: ") as error:
                    fn(bad, threads=threads)
                errors.add(str(error.value))
    assert len(errors) == 1


@functools.lru_cache(maxsize=None)
def _sa1b_like(seed: int) -> tuple[int, int, list[int], str]:
    return _coco(sa1b_like_mask(seed))


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_sa1b_like(level):
    check_valid(level, *_sa1b_like(0))


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVEL_PARAMS)
@pytest.mark.parametrize("seed", range(1, 9))
def test_sa1b_like_more(level, seed):
    check_valid(level, *_sa1b_like(seed))


def test_levels():
    in_use, best = _rle._stats_simd_levels()
    assert 0 <= in_use <= best <= 2
    with pytest.raises(ValueError, match="not available"):
        _rle._set_stats_simd(best + 1)
    with pytest.raises(ValueError, match="not available"):
        _rle._set_stats_simd(-1)
    with pytest.raises(TypeError):
        _rle._stats_simd_one(np.array([1, 2], dtype=np.int64), 1, 3)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@pytest.mark.parametrize("total", [1, 2, 17, 33, 4000, 5000])
def test_boundaries_as_many_values_as_pixels(level, total):
    # Runs of 1 after a first 0: total + 1 values, the most a string the boundary
    # parser takes can have, and the room parse_boundaries reserves for it.
    runs = [0] + [1] * total
    h, w = 1, total
    check_valid(level, h, w, runs)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_boundaries_of_a_long_string_for_a_small_mask(level):
    # 10**6 one-character values for a 10-pixel mask (parse_boundaries reserves
    # room for 11 values + 16 here, not 10**6): the SIMD parser declines, and the
    # error is the scalar parser's.
    s = "1" * 10**6
    check_same(level, s, 2, 5)
    assert _rle._boundaries_simd_one(s, 2, 5) is None


# ---------------------------------------------------------------------------
# Encoding: the scan for the changes between zero and non-zero bytes (sarle_scan_changes_simd,
# whole 64-byte blocks) and the SSE2/byte loop that finishes it (sarle_find_change)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_encode_scan_changes_at_every_position(level):
    # A C-order (1, n) mask, encoded by scanning its bytes: one foreground run of
    # every length at every start around the 64-byte blocks, the 256-byte steps over
    # uniform bytes and the tail.
    _rle._set_stats_simd(level)
    for n in (63, 64, 65, 127, 128, 129, 200, 255, 256, 257, 320, 513, 600):
        for start in range(n):
            for length in {1, 2, 63, 64, 65, n - start}:
                if length < 1 or start + length > n:
                    continue
                mask = np.zeros((1, n), dtype=bool)
                mask[0, start:start + length] = True
                runs = ref.runs_from_mask(mask)
                assert sarle.encode(mask)["counts"] == ref.string_from_runs(runs)


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_encode_scan_one_zero_among_mixed_values(level):
    # The scan skips 256 bytes at once when all are zero, or all non-zero; "all non-zero"
    # must hold for any byte values (1 & 2 == 0, so no AND of the bytes will do). One
    # zero byte at every position of foreground made of 1, 2, 128 and 255.
    _rle._set_stats_simd(level)
    n = 700
    fg = np.resize(np.array([1, 2, 128, 255], np.uint8), n)
    for p in range(n):
        mask = fg.copy()
        mask[p] = 0
        want = ref.string_from_runs(ref.runs_from_mask(mask[None] != 0))
        assert sarle.encode(mask[None])["counts"] == want, p


@pytest.mark.parametrize("level", LEVEL_PARAMS)
@given(st.integers(1, 40), st.integers(1, 300), st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 7, 255]))
def test_encode_scan_random_masks(level, h, w, seed, value):
    # any non-zero byte is foreground, in uint8 masks as in bool ones
    rng = np.random.default_rng(seed)
    mask = (rng.random((h, w)) < rng.choice([0.01, 0.5, 0.99])).astype(np.uint8) * value
    _rle._set_stats_simd(level)
    got = sarle.encode(mask)
    _rle._set_stats_simd(0)
    assert got == sarle.encode(mask)
    assert got["counts"] == ref.string_from_runs(ref.runs_from_mask(mask != 0))
