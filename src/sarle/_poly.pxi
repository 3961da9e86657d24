# Polygon rasteriser: COCO's ``rleFrPoly``, pixel for pixel, in 64-bit.
#
# Included into _rle.pyx (which cimports int64_t, malloc and free and imports
# numpy as np; the few other C functions used here are cimported below).
# Everything is prefixed ``_poly`` to keep the module namespace clear.  The
# only Python entry point is ``_polygon_runs``.
#
# How COCO rasterises a polygon
# -----------------------------
# 1. Every vertex is upsampled x5 and rounded with C truncation:
#    ``u = (int)(5 * x + .5)`` (toward zero, so -0.2 -> 0, not -1).
# 2. Each edge is walked one step at a time along its major axis.  Steps are
#    made in a canonical direction (``flip``) but emitted in the polygon's
#    order.  On an x-major edge ``u = xs + t`` and
#    ``v = (int)(ys + s * t + .5)``; on a y-major edge ``v = ys + t`` and
#    ``u = (int)(xs + s * t + .5)``, with ``s`` the slope as a double.
# 3. A step whose ``u`` changes is a candidate crossing at
#    ``xd = cur < prev ? cur : cur - 1``; it is kept only when
#    ``(xd + .5) / 5 - .5`` is a column index ``0 <= x <= w - 1``, i.e. when
#    ``xd == 5 * x + 2``.  Its row is ``ceil((min(v) + .5) / 5 - .5)`` clamped
#    to ``[0, h]``.
# 4. The positions ``x * h + y`` are sorted; the mask toggles at each one.
#
# What we do differently
# ----------------------
# COCO materialises the whole upsampled walk (5 points per pixel of
# perimeter, unbounded for far-away vertices) and keeps 32-bit positions.
# Here the walk is never stored.  ``u`` is monotone along an edge, so each
# column boundary ``5 * x + 2.5`` is crossed by exactly one step, found in
# closed form (x-major edges) or from the straight-line estimate checked and
# corrected with the very same floating-point expression (y-major edges);
# only columns inside the image are visited.  Positions are sorted with a
# linear radix sort.  Memory is O(number of kept crossings), time about
# O(crossings) (O(crossings * log(edge length)) at worst), and every
# position is 64-bit.  The C expressions that decide a
# pixel are evaluated exactly as COCO writes them, so the result is
# identical wherever COCO's 32-bit arithmetic does not overflow.  Steps that
# cross from one edge to the next never produce a kept crossing (their ``u``
# only differs near a vertex with x < 0), so edges are independent.

from libc.math cimport fabs
from libc.stdlib cimport qsort
from libc.string cimport memcpy, memset

# Largest |coordinate| accepted: keeps every upsampled value and product far
# inside int64, and COCO's float tests ((xd + .5) / 5 - .5 and friends)
# equivalent to the integer ones used here.
cdef double _POLY_LIMIT = 2.0 ** 40


cdef struct _PolyEdge:
    int64_t xs          # start after the canonical flip (upsampled units)
    int64_t ys
    int64_t steps       # number of steps: dx (x-major) or dy (y-major)
    double s            # slope along the major axis, as COCO computes it
    bint xmajor
    bint flip           # emission order is reversed with respect to t


cdef inline int64_t _poly_up(double c) noexcept nogil:
    # COCO: (int)(scale * x + .5) with scale = 5, C truncation toward zero.
    return <int64_t>(5.0 * c + 0.5)


cdef inline int64_t _poly_floordiv(int64_t a, int64_t b) noexcept nogil:
    # Floor division for b > 0, whatever the cdivision directive says.
    cdef int64_t q = a // b
    if q * b > a:
        q -= 1
    return q


cdef inline int64_t _poly_abs(int64_t a) noexcept nogil:
    return -a if a < 0 else a


cdef inline bint _poly_edge(_PolyEdge *e, int64_t x0, int64_t y0,
                            int64_t x1, int64_t y1) noexcept nogil:
    """Set up the walk from (x0, y0) to (x1, y1); False for a single point."""
    cdef int64_t dx = _poly_abs(x1 - x0), dy = _poly_abs(y0 - y1)
    cdef bint flip = (dx >= dy and x0 > x1) or (dx < dy and y0 > y1)
    cdef int64_t xs = x1 if flip else x0, xe = x0 if flip else x1
    cdef int64_t ys = y1 if flip else y0, ye = y0 if flip else y1
    if dx == 0 and dy == 0:
        # COCO emits one point with v = (int)NaN here; its u equals both
        # neighbours', so no crossing can come from it.
        return False
    e.xs = xs
    e.ys = ys
    e.flip = flip
    e.xmajor = dx >= dy
    if e.xmajor:
        e.steps = dx
        e.s = <double>(ye - ys) / <double>dx
    else:
        e.steps = dy
        e.s = <double>(xe - xs) / <double>dy
    return True


cdef inline int64_t _poly_u(const _PolyEdge *e, int64_t t) noexcept nogil:
    if e.xmajor:
        return e.xs + t
    return <int64_t>(<double>e.xs + e.s * <double>t + 0.5)


cdef inline int64_t _poly_v(const _PolyEdge *e, int64_t t) noexcept nogil:
    if e.xmajor:
        return <int64_t>(<double>e.ys + e.s * <double>t + 0.5)
    return e.ys + t


cdef inline void _poly_columns(const _PolyEdge *e, int64_t w,
                               int64_t *lo, int64_t *hi) noexcept nogil:
    """Columns x in [lo, hi] whose boundary 5x + 2.5 the edge crosses."""
    cdef int64_t ua = _poly_u(e, 0), ub = _poly_u(e, e.steps)
    cdef int64_t umin = ua if ua < ub else ub
    cdef int64_t umax = ub if ua < ub else ua
    # 5x + 2 >= umin and 5x + 3 <= umax, within the image.
    lo[0] = -_poly_floordiv(2 - umin, 5)
    hi[0] = _poly_floordiv(umax - 3, 5)
    if lo[0] < 0:
        lo[0] = 0
    if hi[0] > w - 1:
        hi[0] = w - 1


cdef int64_t _poly_count(const double *xy, int64_t k, int64_t w) noexcept nogil:
    """Upper bound on the number of kept crossings; -1 if it is absurd."""
    cdef int64_t j, lo, hi, total = 0
    cdef _PolyEdge e
    for j in range(k):
        if not _poly_edge(&e, _poly_up(xy[2 * j]), _poly_up(xy[2 * j + 1]),
                          _poly_up(xy[2 * ((j + 1) % k)]),
                          _poly_up(xy[2 * ((j + 1) % k) + 1])):
            continue
        _poly_columns(&e, w, &lo, &hi)
        if hi >= lo:
            total += hi - lo + 1
            if total > (<int64_t>1) << 56:
                return -1
    return total


cdef inline bint _poly_before(const _PolyEdge *e, int64_t t, int64_t target,
                              bint rising) noexcept nogil:
    """Is step ``t`` of a y-major edge still before column boundary 5*target + 2.5?"""
    if rising:
        return _poly_u(e, t) <= 5 * target + 2
    return _poly_u(e, t) >= 5 * target + 3


cdef int64_t _poly_crossing(const _PolyEdge *e, int64_t target, bint rising,
                            int64_t lo, int64_t hi) noexcept nogil:
    """Last step ``t`` in [lo, hi] before the boundary of column ``target``.

    ``u`` is monotone in ``t`` and the answer is known to lie in [lo, hi]
    with ``_poly_before(lo)`` true.  Start from the straight-line estimate,
    gallop to bracket it, then bisect: O(1) steps in practice, O(log) at
    worst, always with COCO's own float expression deciding.
    """
    cdef double g = (5.0 * <double>target + 2.5 - <double>e.xs) / e.s
    cdef int64_t t, step = 1, mid
    if g <= <double>lo:
        t = lo
    elif g >= <double>hi:
        t = hi
    else:
        t = <int64_t>g
    if _poly_before(e, t, target, rising):
        lo = t
        while lo + step <= hi:
            if _poly_before(e, lo + step, target, rising):
                lo += step
                step *= 2
            else:
                hi = lo + step - 1
                break
    else:
        hi = t - 1
        while hi - step >= lo:
            if _poly_before(e, hi - step, target, rising):
                lo = hi - step
                break
            hi -= step
            step *= 2
    while lo < hi:
        mid = lo + (hi - lo + 1) // 2
        if _poly_before(e, mid, target, rising):
            lo = mid
        else:
            hi = mid - 1
    return lo


cdef int64_t _poly_fill(const double *xy, int64_t k, int64_t h, int64_t w,
                        int64_t *pos) noexcept nogil:
    """Write the boundary positions x * h + y of all edges; return how many."""
    cdef int64_t j, x, t, target, ua, ub, prev, cur, xd, yd, y
    cdef int64_t lo, hi, c = 0
    cdef bint rising
    cdef _PolyEdge e
    for j in range(k):
        if not _poly_edge(&e, _poly_up(xy[2 * j]), _poly_up(xy[2 * j + 1]),
                          _poly_up(xy[2 * ((j + 1) % k)]),
                          _poly_up(xy[2 * ((j + 1) % k) + 1])):
            continue
        _poly_columns(&e, w, &lo, &hi)
        rising = _poly_u(&e, e.steps) > _poly_u(&e, 0)
        t = 0   # step of the previous crossing: later ones are never before it
        for x in range(lo, hi + 1):
            if not rising:
                target = hi - (x - lo)   # walk columns in t order
            else:
                target = x
            if e.xmajor:
                t = 5 * target + 2 - e.xs
            else:
                t = _poly_crossing(&e, target, rising, t, e.steps - 1)
            ua = _poly_u(&e, t)
            ub = _poly_u(&e, t + 1)
            if e.flip:
                prev = ub
                cur = ua
            else:
                prev = ua
                cur = ub
            xd = cur if cur < prev else cur - 1
            if xd != 5 * target + 2:
                continue  # a float step jumped past this column (huge coords)
            yd = _poly_v(&e, t)
            if _poly_v(&e, t + 1) < yd:
                yd = _poly_v(&e, t + 1)
            # ceil((yd + .5) / 5 - .5) == ceil((yd - 2) / 5), clamped to [0, h]
            if yd <= 2:
                y = 0
            else:
                y = (yd - 2 + 4) // 5
                if y > h:
                    y = h
            pos[c] = target * h + y
            c += 1
    return c


cdef int _poly_cmp(const void *pa, const void *pb) noexcept nogil:
    cdef int64_t a = (<const int64_t *>pa)[0], b = (<const int64_t *>pb)[0]
    return (a > b) - (a < b)


cdef enum:
    _POLY_RADIX_BITS = 11


cdef void _poly_sort(int64_t *a, int64_t *tmp, int64_t c, int64_t maxkey) noexcept nogil:
    """Sort ``c`` keys in ``[0, maxkey]``: LSD radix (11-bit digits) or qsort.

    Positions need ``log2(h * w)`` bits, so an SA-1B-sized image takes two
    linear passes; ``tmp`` must hold ``c`` values.
    """
    cdef int64_t counts[1 << _POLY_RADIX_BITS]
    cdef int64_t i, d, total, shift = 0
    cdef int64_t *src = a
    cdef int64_t *dst = tmp
    cdef int64_t *swap
    if c < 256:
        qsort(a, <size_t>c, sizeof(int64_t), _poly_cmp)
        return
    while shift < 63 and (maxkey >> shift) > 0:
        memset(counts, 0, sizeof(counts))
        for i in range(c):
            counts[(src[i] >> shift) & ((1 << _POLY_RADIX_BITS) - 1)] += 1
        total = 0
        for d in range(1 << _POLY_RADIX_BITS):
            i = counts[d]
            counts[d] = total
            total += i
        for i in range(c):
            d = (src[i] >> shift) & ((1 << _POLY_RADIX_BITS) - 1)
            dst[counts[d]] = src[i]
            counts[d] += 1
        swap = src
        src = dst
        dst = swap
        shift += _POLY_RADIX_BITS
    if src != a:
        memcpy(a, src, <size_t>c * sizeof(int64_t))


cdef int64_t _poly_runs_from_positions(int64_t *pos, int64_t *tmp, int64_t c,
                                       int64_t n, int64_t *out) noexcept nogil:
    """Sort toggle positions (all in ``[0, n]``) and write canonical runs.

    A position repeated an even number of times cancels out.  ``tmp`` is
    scratch for ``c`` values, ``out`` must hold ``c + 1``.  Returns the
    number of runs.
    """
    cdef int64_t i = 0, j, m = 0, last = 0
    _poly_sort(pos, tmp, c, n)
    while i < c:
        j = i + 1
        while j < c and pos[j] == pos[i]:
            j += 1
        if (j - i) & 1:
            out[m] = pos[i] - last  # the first run may be 0
            m += 1
            last = pos[i]
        i = j
    if m == 0 or n > last:
        out[m] = n - last
        m += 1
    return m


def _polygon_runs(const double[::1] xy, int64_t h, int64_t w):
    """Rasterise one polygon exactly like COCO's ``rleFrPoly``.

    Parameters
    ----------
    xy : 1-D contiguous float64 memoryview
        ``[x0, y0, x1, y1, ...]``, pixel coordinates (pixel ``(i, j)``
        covers ``[j, j + 1) x [i, i + 1)``), any number of points; 0 points
        is the empty mask; 1 or 2 points draw nothing, as in COCO (the
        walk there and back cancels out).
    h, w : int
        Mask height and width, ``>= 0`` with ``h * w <= 2**62``.

    Returns
    -------
    numpy.ndarray of int64, 1-D
        Canonical column-major runs, background first (the first run may be
        0, no other run is), summing to ``h * w``; ``[0]`` when
        ``h * w == 0``.

    Raises
    ------
    ValueError
        Odd number of values, a NaN or infinite coordinate, a coordinate
        with magnitude above ``2**40``, or a bad size.
    MemoryError
        When the boundary positions cannot be allocated.

    Notes
    -----
    Pixel-for-pixel identical to pycocotools wherever its 32-bit arithmetic
    does not overflow (``|5 * coordinate| < 2**31`` and ``h * w < 2**32``);
    beyond that the same rules are applied in 64-bit.  The upsampled
    boundary walk is never materialised, so a far-away vertex costs nothing.

    Examples
    --------
    >>> _polygon_runs(np.array([0., 0., 0., 2., 2., 2., 2., 0.]), 4, 4)
    array([ 0,  2,  2,  2, 10])
    """
    cdef Py_ssize_t n = xy.shape[0], i
    cdef int64_t k = n // 2, c = 0, m = 0, bound
    cdef int64_t *pos = NULL
    cdef int64_t[::1] out
    if n % 2:
        raise ValueError(
            f"polygon has an odd number of coordinates ({n}); "
            "expected [x0, y0, x1, y1, ...]")
    if h < 0 or w < 0:
        raise ValueError(f"mask size must be non-negative, got h={h}, w={w}")
    if w and h > ((<int64_t>1) << 62) // w:
        raise ValueError(f"h * w = {<object>h * <object>w} is larger than 2**62")
    for i in range(n):
        if not fabs(xy[i]) <= _POLY_LIMIT:
            what = ("not finite" if xy[i] != xy[i] or fabs(xy[i]) == float("inf")
                    else "beyond the limit |coordinate| <= 2**40")
            raise ValueError(
                f"polygon coordinate {i} is {xy[i]!r}: {what}")
    if h == 0 or w == 0:
        return np.zeros(1, dtype=np.int64)
    if k == 0:
        return np.array([h * w], dtype=np.int64)
    with nogil:
        bound = _poly_count(&xy[0], k, w)
    if bound < 0:
        raise MemoryError("polygon crosses too many columns to rasterise")
    # One block: the positions, then scratch space for the radix sort.
    pos = <int64_t *>malloc(<size_t>(2 * bound if bound > 0 else 1) * sizeof(int64_t))
    if pos == NULL:
        raise MemoryError(f"cannot allocate {bound} polygon boundary positions")
    try:
        result = np.empty(bound + 1, dtype=np.int64)
        out = result
        with nogil:
            c = _poly_fill(&xy[0], k, h, w, pos)
            m = _poly_runs_from_positions(pos, pos + bound, c, h * w, &out[0])
    finally:
        free(pos)
    return result[:m].copy()
