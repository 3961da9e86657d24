# cython: language_level=3, freethreading_compatible=True
"""Private kernels of sarle: the COCO compressed-RLE codec on raw buffers.

Everything here works on flat, contiguous buffers and plain integers; the
Python modules beside it (``_inputs.py``, ``codec.py``) turn user objects into
these forms and own every argument check that is not about the bytes of a
counts string. Hot loops run with the GIL released.

Representations
---------------
counts
    A COCO compressed string (``bytes``, or an ASCII ``str`` read in place)
    or an uncompressed run list (a C-contiguous ``int64`` array). Runs are
    column-major, background first.
boundaries
    The canonical internal form: a strictly increasing ``int64`` array
    ``[s0, e0, s1, e1, ...]`` of foreground intervals ``[s, e)`` in
    column-major pixel positions, none empty, none touching. Two masks are
    equal exactly when their boundaries are.

All pixel positions and run lengths are 64-bit; sizes are limited by the
Python layer to ``h * w <= 2**62`` so no sum below can overflow.
"""

from cpython.buffer cimport PyBUF_C_CONTIGUOUS, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.unicode cimport PyUnicode_DecodeLatin1
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

import numpy as np

cdef extern from "Python.h":
    bint PyUnicode_IS_COMPACT_ASCII(object o)
    void *PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)

cdef extern from *:
    """
    #include <stdint.h>
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif

    /* First index i >= start with (p[i] != 0) == want_nonzero, or n. */
    static inline int64_t sarle_find_change(const uint8_t *p, int64_t i,
                                            int64_t n, int want_nonzero) {
    #if defined(__SSE2__)
        const __m128i zero = _mm_setzero_si128();
        while (i + 64 <= n) {
            __m128i a = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), zero);
            __m128i b = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i + 16)), zero);
            __m128i c = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i + 32)), zero);
            __m128i d = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i + 48)), zero);
            /* One bit per byte that is zero. */
            uint64_t m = (uint64_t)(unsigned)_mm_movemask_epi8(a)
                       | ((uint64_t)(unsigned)_mm_movemask_epi8(b) << 16)
                       | ((uint64_t)(unsigned)_mm_movemask_epi8(c) << 32)
                       | ((uint64_t)(unsigned)_mm_movemask_epi8(d) << 48);
            if (want_nonzero) m = ~m;
            if (m) return i + __builtin_ctzll(m);
            i += 64;
        }
        while (i + 16 <= n) {
            unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), zero));
            if (want_nonzero) m = ~m & 0xFFFFu;
            if (m) return i + __builtin_ctz(m);
            i += 16;
        }
    #endif
        if (want_nonzero) { while (i < n && p[i] == 0) i++; }
        else { while (i < n && p[i] != 0) i++; }
        return i;
    }

    /* Fast path of the counts parser, for the fourth count on: values of one
       to three characters. It stops, without consuming anything, before
       whatever it does not handle (a longer value, a character outside the
       alphabet, a run that would be negative or pass the end of the mask,
       the last two characters); the general parser re-reads that and reports
       errors. Returns the number of runs written to buf (at most cap). */
    static inline Py_ssize_t sarle_parse_fast(const unsigned char *s, Py_ssize_t n,
            Py_ssize_t *ppos, int64_t *pp1, int64_t *pp2, int64_t *proom,
            int64_t *buf, Py_ssize_t cap) {
        Py_ssize_t pos = *ppos, k = 0, len;
        const Py_ssize_t stop = n - 2;   /* s[pos + 2] stays inside */
        int64_t p1 = *pp1, p2 = *pp2, room = *proom, x, run;
        while (k < cap && pos < stop) {
            unsigned c0 = (unsigned)s[pos] - 48u;
            if (c0 < 32u) {
                x = (int64_t)((int)(c0 ^ 16u) - 16);
                len = 1;
            } else {
                unsigned c1 = (unsigned)s[pos + 1] - 48u;
                if (c0 >= 64u) break;
                if (c1 < 32u) {
                    x = (int64_t)(c0 & 31u) | ((int64_t)((int)(c1 ^ 16u) - 16) * 32);
                    len = 2;
                } else {
                    unsigned c2 = (unsigned)s[pos + 2] - 48u;
                    if (c1 >= 64u || c2 >= 32u) break;
                    x = (int64_t)(c0 & 31u) | ((int64_t)(c1 & 31u) << 5)
                        | ((int64_t)((int)(c2 ^ 16u) - 16) * 1024);
                    len = 3;
                }
            }
            run = x + p2;
            if ((uint64_t)run > (uint64_t)room) break;
            room -= run;
            p2 = p1;
            p1 = run;
            buf[k++] = run;
            pos += len;
        }
        *ppos = pos; *pp1 = p1; *pp2 = p2; *proom = room;
        return k;
    }

    /* dst[c * dst_stride + r] = src[r * src_stride + c] for r < rows, c < cols:
       a byte matrix transposed, 16 x 16 blocks with SSE2 (four rounds of
       interleaving row i with row i + 8 take a block to its transpose), bytes
       at the edges. */
    static void sarle_transpose_bytes(const uint8_t *src, int64_t src_stride,
                                      int64_t rows, int64_t cols,
                                      uint8_t *dst, int64_t dst_stride) {
        int64_t r0 = 0, c0, r, c;
    #if defined(__SSE2__)
        for (; r0 + 16 <= rows; r0 += 16) {
            for (c0 = 0; c0 + 16 <= cols; c0 += 16) {
                __m128i x[16], y[16];
                int i, k;
                for (i = 0; i < 16; i++)
                    x[i] = _mm_loadu_si128((const __m128i *)(src + (r0 + i) * src_stride + c0));
                for (k = 0; k < 4; k++) {
                    for (i = 0; i < 8; i++) {
                        y[2 * i] = _mm_unpacklo_epi8(x[i], x[i + 8]);
                        y[2 * i + 1] = _mm_unpackhi_epi8(x[i], x[i + 8]);
                    }
                    for (i = 0; i < 16; i++) x[i] = y[i];
                }
                for (i = 0; i < 16; i++)
                    _mm_storeu_si128((__m128i *)(dst + (c0 + i) * dst_stride + r0), x[i]);
            }
            for (c = c0; c < cols; c++)
                for (r = r0; r < r0 + 16; r++)
                    dst[c * dst_stride + r] = src[r * src_stride + c];
        }
    #endif
        for (c = 0; c < cols; c++)
            for (r = r0; r < rows; r++)
                dst[c * dst_stride + r] = src[r * src_stride + c];
    }
    """
    int64_t sarle_find_change(const uint8_t *p, int64_t i, int64_t n, int want_nonzero) noexcept nogil
    void sarle_transpose_bytes(const uint8_t *src, int64_t src_stride, int64_t rows,
                               int64_t cols, uint8_t *dst, int64_t dst_stride) noexcept nogil
    Py_ssize_t sarle_parse_fast(const unsigned char *s, Py_ssize_t n, Py_ssize_t *ppos,
                                int64_t *pp1, int64_t *pp2, int64_t *proom,
                                int64_t *buf, Py_ssize_t cap) noexcept nogil

cdef extern from "_stats_simd.h":
    # Area and extent straight from a counts string with AVX2 or AVX-512, for
    # the valid strings it handles; stream_stats runs it first (see the header).
    ctypedef struct Stats "sarle_stats":
        int64_t area
        int64_t x0, y0, x1, y1   # inclusive pixel extent; x1 < 0 when empty
    void sarle_stats_simd_init() noexcept
    int sarle_stats_simd_best() noexcept nogil
    int sarle_stats_simd_level() noexcept nogil
    void sarle_stats_simd_set_level(int level) noexcept nogil
    bint sarle_stats_simd(const unsigned char *s, int64_t n, int64_t h, int64_t total,
                          Stats *st) noexcept nogil
    int64_t sarle_boundaries_simd(const unsigned char *s, int64_t n, int64_t total,
                                  int64_t *out, int64_t cap) noexcept nogil
    int64_t sarle_scan_changes_simd(const uint8_t *p, int64_t *pos, int64_t n, uint64_t *prev,
                                    int64_t *out, int64_t cap) noexcept nogil
    void sarle_fill_stream(uint8_t *p, int v, int64_t n) noexcept nogil
    void sarle_stream_fence() noexcept nogil
    # Writes a byte range once, in order, as runs of 0 or 1, by non-temporal
    # stores but for the lines it shares with its neighbours (see the header).
    ctypedef struct Stream "sarle_stream":
        pass
    void sarle_stream_open(Stream *st, uint8_t *lo, uint8_t *hi) noexcept nogil
    void sarle_stream_put(Stream *st, int v, int64_t n) noexcept nogil
    void sarle_stream_close(Stream *st) noexcept nogil

# Pick the SIMD kernel for this CPU, once, at import.
sarle_stats_simd_init()


# ---------------------------------------------------------------------------
# Errors. Kernels running without the GIL return one of these codes (negated)
# and leave the position in the Src; _raise_parse_error turns it into text.

cdef enum:
    E_CHAR = 1
    E_TRUNCATED = 2
    E_OVERFLOW = 3
    E_NEGATIVE = 4
    E_SUM_OVER = 5
    E_SUM_UNDER = 6
    E_EMPTY = 7
    E_MEMORY = 8


cdef enum:
    CHUNK = 512   # counts parsed per refill; even, so chunks keep run parity


cdef struct Src:
    # A stream of run lengths read from a compressed string or a run array.
    const unsigned char *s   # compressed characters, or NULL
    const int64_t *runs      # uncompressed runs, or NULL
    Py_ssize_t n             # number of characters or runs
    Py_ssize_t pos           # next character or run index
    Py_ssize_t start         # where the last value started (for errors)
    int64_t m                # counts produced so far
    int64_t prev1            # count m-1
    int64_t prev2            # count m-2
    int64_t total            # h * w
    int64_t sum              # sum of counts produced
    int64_t bad              # offending value, for error messages
    bint done                # all counts produced and their sum checked


cdef inline void src_reset(Src *src) noexcept nogil:
    src.pos = 0
    src.start = 0
    src.m = 0
    src.prev1 = 0
    src.prev2 = 0
    src.sum = 0
    src.bad = 0
    src.done = False


cdef Py_ssize_t src_fill(Src *src, int64_t *buf, Py_ssize_t cap) noexcept nogil:
    """Parse up to ``cap`` run lengths into ``buf``.

    Returns how many were parsed; fewer than ``cap`` only at the end of the
    stream, where ``src.done`` is set once the counts are checked to sum to
    ``total``. On malformed input returns a negated error code, with
    ``src.start``/``src.pos`` at the offending value or character.

    Values are little-endian 5-bit groups, one character each (``'0' + g``,
    bit 0x20 = more groups follow, bit 0x10 of the last group = sign); from
    the fourth count on, a value is the difference to the count two back.
    Values of one to three characters (nearly all, in real masks) go through
    ``sarle_parse_fast``; this loop handles the first three counts, longer
    values, the last characters and every error.
    """
    cdef const unsigned char *s = src.s
    cdef Py_ssize_t pos = src.pos, n = src.n, k = 0, start = src.pos
    cdef int64_t p1 = src.prev1, p2 = src.prev2, m = src.m
    cdef int64_t total = src.total, room = src.total - src.sum
    cdef int64_t x = 0, run = 0, bad = 0
    cdef Py_ssize_t fast
    cdef uint64_t acc
    cdef int c, g, err = 0
    if s != NULL:
        while k < cap and pos < n:
            if m > 2:
                fast = sarle_parse_fast(s, n, &pos, &p1, &p2, &room, buf + k, cap - k)
                k += fast
                m += fast
                if k >= cap or pos >= n:
                    break
            start = pos
            c = <int>s[pos] - 48
            if <unsigned int>c > 63:
                err = E_CHAR
                break
            pos += 1
            if c & 0x20:
                acc = <uint64_t>(c & 0x1f)
                g = 1
                while True:
                    if pos >= n:
                        err = E_TRUNCATED
                        break
                    c = <int>s[pos] - 48
                    if <unsigned int>c > 63:
                        err = E_CHAR
                        break
                    pos += 1
                    if g == 12:
                        # The 13th group holds bits 60..64; bit 64 is the
                        # sign. A continuation, or a sign that disagrees with
                        # bit 63, means the value does not fit in 64 bits.
                        if (c & 0x20) or ((c >> 3) & 1) != ((c >> 4) & 1):
                            err = E_OVERFLOW
                        acc |= (<uint64_t>(c & 0x1f)) << 60
                        break
                    acc |= (<uint64_t>(c & 0x1f)) << (5 * g)
                    g += 1
                    if not (c & 0x20):
                        if c & 0x10:
                            acc |= (~(<uint64_t>0)) << (5 * g)
                        break
                if err:
                    break
                x = <int64_t>acc
            else:
                x = (c & 0x1f) - ((c & 0x10) << 1)
            if m > 2:
                # Reject before adding so the sum cannot overflow.
                if x > total:
                    err = E_SUM_OVER
                    bad = x
                    break
                if x < -total:
                    err = E_NEGATIVE
                    bad = x
                    break
                run = x + p2
            else:
                run = x
            if run < 0:
                err = E_NEGATIVE
                bad = run
                break
            if run > room:
                err = E_SUM_OVER
                bad = run
                break
            room -= run
            p2 = p1
            p1 = run
            m += 1
            buf[k] = run
            k += 1
    else:
        while k < cap and pos < n:
            start = pos
            run = src.runs[pos]
            if run < 0:
                err = E_NEGATIVE
                bad = run
                break
            if run > room:
                err = E_SUM_OVER
                bad = run
                break
            pos += 1
            room -= run
            m += 1
            buf[k] = run
            k += 1
    src.pos = pos
    src.start = start
    src.m = m
    src.prev1 = p1
    src.prev2 = p2
    src.sum = total - room
    src.bad = bad
    if err:
        return -err
    if pos >= n:
        if room:
            return -(E_EMPTY if n == 0 else E_SUM_UNDER)
        src.done = True
    return k


cdef struct Reader:
    # Pulls run lengths one at a time from a Src, a chunk at a time.
    Src *src
    Py_ssize_t i
    Py_ssize_t k
    int64_t buf[CHUNK]


cdef inline void reader_init(Reader *rd, Src *src) noexcept nogil:
    rd.src = src
    rd.i = 0
    rd.k = 0


cdef inline int reader_next(Reader *rd, int64_t *out) noexcept nogil:
    """1 and the next count in ``out``; 0 at a valid end; <0 an error code."""
    cdef Py_ssize_t k
    if rd.i == rd.k:
        if rd.src.done:
            return 0
        k = src_fill(rd.src, rd.buf, CHUNK)
        if k <= 0:
            return <int>k
        rd.k = k
        rd.i = 0
    out[0] = rd.buf[rd.i]
    rd.i += 1
    return 1


cdef inline int drain(Reader *rd) noexcept nogil:
    """Consume the remaining counts; validates the rest of the stream."""
    cdef int64_t run = 0
    cdef int r
    while True:
        r = reader_next(rd, &run)
        if r <= 0:
            return r


cdef int fill_src(Src *src, object counts, int64_t total, list keep) except -1:
    """Point ``src`` at ``counts`` (str, bytes or a C-contiguous int64 array).

    An ASCII ``str`` is read in place, without a copy. The caller keeps
    ``counts`` (and ``keep``, where a converted copy may be stored) alive
    while ``src`` is used.
    """
    cdef const int64_t[::1] runs
    src_reset(src)
    src.total = total
    if type(counts) is str:
        if not PyUnicode_IS_COMPACT_ASCII(counts):
            counts = (<str>counts).encode("ascii")
            keep.append(counts)
        else:
            src.s = <const unsigned char *>PyUnicode_DATA(counts)
            src.runs = NULL
            src.n = PyUnicode_GET_LENGTH(counts)
            return 0
    if type(counts) is bytes:
        src.s = <const unsigned char *>PyBytes_AS_STRING(counts)
        src.runs = NULL
        src.n = PyBytes_GET_SIZE(counts)
    else:
        runs = counts
        src.s = NULL
        src.runs = &runs[0] if runs.shape[0] else <const int64_t *>NULL
        src.n = runs.shape[0]
    return 0


cdef object _error_text(Src *src, int code, int64_t h, int64_t w):
    cdef Py_ssize_t pos = src.pos
    cdef int byte
    compressed = src.s != NULL
    where = f"position {src.start}" if compressed else f"index {src.start}"
    if code == E_CHAR:
        byte = src.s[pos]
        shown = repr(chr(byte)) if byte < 128 else f"byte 0x{byte:02x} (non-ASCII)"
        return (f"invalid character {shown} at position {pos}; "
                f"COCO counts strings use only '0'..'o'")
    if code == E_TRUNCATED:
        return (f"the string ends inside a 5-bit group: the value starting at "
                f"position {src.start} still has the continuation bit set at the "
                f"last character (position {src.n - 1})")
    if code == E_OVERFLOW:
        return f"the value starting at position {src.start} does not fit in 64 bits"
    if code == E_NEGATIVE:
        return (f"negative run length {src.bad} (count {src.m}) at {where}")
    if code == E_SUM_OVER:
        return (f"run lengths exceed h*w = {src.total} ({h}x{w} mask) at count "
                f"{src.m} ({where}): the runs so far sum to {src.sum} and the "
                f"next one, {src.bad} or more, does not fit")
    if code == E_SUM_UNDER:
        return (f"run lengths sum to {src.sum}, expected h*w = {src.total} "
                f"({h}x{w} mask)")
    if code == E_EMPTY:
        return f"empty counts for a non-empty {h}x{w} mask"
    return f"internal error code {code}"


cdef int _raise_batch_error(Src *srcs, int code, int64_t h, int64_t w,
                            Py_ssize_t failed, Py_ssize_t index_base) except -1:
    """Raise for mask ``failed`` of a batch named from ``index_base`` (-1: unnamed)."""
    return _raise_parse_error(&srcs[failed], code, h, w,
                              index_base + failed if index_base >= 0 else -1)


cdef int _raise_parse_error(Src *src, int code, int64_t h, int64_t w,
                            Py_ssize_t index) except -1:
    if code == E_MEMORY:
        raise MemoryError()
    text = "counts: " + _error_text(src, code, h, w)
    if index >= 0:
        text = f"mask {index}: {text}"
    raise ValueError(text)


# ---------------------------------------------------------------------------
# A growable int64 buffer for outputs of unknown length.

cdef struct I64Buf:
    int64_t *data
    Py_ssize_t size
    Py_ssize_t cap


cdef inline int buf_reserve(I64Buf *b, Py_ssize_t extra) noexcept nogil:
    cdef Py_ssize_t cap
    cdef int64_t *p
    if b.size + extra <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 64
    while cap < b.size + extra:
        cap *= 2
    p = <int64_t *>realloc(b.data, cap * sizeof(int64_t))
    if p == NULL:
        return -E_MEMORY
    b.data = p
    b.cap = cap
    return 0


cdef inline int buf_push(I64Buf *b, int64_t v) noexcept nogil:
    if b.size == b.cap and buf_reserve(b, 1) < 0:
        return -E_MEMORY
    b.data[b.size] = v
    b.size += 1
    return 0


cdef inline int buf_toggle(I64Buf *b, int64_t v) noexcept nogil:
    """Append boundary ``v``; an equal last boundary cancels instead."""
    if b.size and b.data[b.size - 1] == v:
        b.size -= 1
        return 0
    return buf_push(b, v)


cdef object buf_to_array(I64Buf *b):
    out = np.empty(b.size, dtype=np.int64)
    cdef int64_t[::1] view = out
    if b.size:
        memcpy(&view[0], b.data, b.size * sizeof(int64_t))
    return out


cdef inline int finish_boundaries(I64Buf *b, int64_t total, Py_ssize_t base=0) noexcept nogil:
    """Close a toggled boundary list (from ``base`` on) so it is canonical."""
    if (b.size - base) & 1:
        if b.data[b.size - 1] == total:
            b.size -= 1
        else:
            return buf_push(b, total)
    return 0


# ---------------------------------------------------------------------------
# Parsing to boundaries, area and bbox.

cdef int parse_boundaries(Src *src, I64Buf *out) noexcept nogil:
    """Append the canonical boundaries of ``src`` to ``out``."""
    cdef int64_t buf[CHUNK]
    cdef int64_t pos = 0, got, room
    cdef Py_ssize_t k, i, base = out.size
    if src.s != NULL and src.pos == 0:
        # The SIMD parser (_stats_simd.h) answers for the canonical strings it
        # handles, with exactly this function's result; for anything else it
        # declines and the scalar loop below starts from the beginning. A
        # string it takes has at most one value per character and at most
        # total + 1 values: room for that (not for a long garbage string).
        room = (src.n if src.n <= src.total else src.total + 1) + 16
        if buf_reserve(out, room) < 0:
            return -E_MEMORY
        got = sarle_boundaries_simd(src.s, src.n, src.total, out.data + out.size, room)
        if got >= 0:
            out.size += got
            src.pos = src.n
            src.sum = src.total
            src.done = True
            return 0
    while not src.done:
        k = src_fill(src, buf, CHUNK)
        if k < 0:
            return <int>k
        if buf_reserve(out, k) < 0:
            return -E_MEMORY
        for i in range(k):
            pos += buf[i]
            # Equal boundaries (a zero-length run) cancel.
            if out.size > base and out.data[out.size - 1] == pos:
                out.size -= 1
            else:
                out.data[out.size] = pos
                out.size += 1
    return finish_boundaries(out, src.total, base)


cdef int parse_all(Src *srcs, Py_ssize_t n, I64Buf *out, Py_ssize_t *off,
                   Py_ssize_t *failed) noexcept nogil:
    """Boundaries of n masks, one after another in ``out``; mask i at ``off[i]:off[i+1]``.

    On a parse error returns its code with ``failed[0]`` = the mask index.
    """
    cdef Py_ssize_t i
    cdef int r
    for i in range(n):
        off[i] = out.size
        r = parse_boundaries(&srcs[i], out)
        if r < 0:
            failed[0] = i
            return r
    off[n] = out.size
    return 0


def boundaries(object counts, int64_t h, int64_t w, Py_ssize_t index=-1):
    """Parse and validate ``counts`` into canonical foreground boundaries.

    Parameters
    ----------
    counts : bytes or int64 ndarray
        Compressed string or uncompressed runs.
    h, w : int
        Mask size; the runs must sum to ``h * w``.
    index : int
        Batch index named in error messages (-1: none).

    Returns
    -------
    ndarray of int64
        ``[s0, e0, s1, e1, ...]``, strictly increasing.
    """
    cdef Src src
    cdef I64Buf buf
    cdef int r
    cdef list keep = []
    fill_src(&src, counts, h * w, keep)
    buf.data = NULL
    buf.size = buf.cap = 0
    try:
        with nogil:
            r = parse_boundaries(&src, &buf)
        if r < 0:
            _raise_parse_error(&src, -r, h, w, index)
        return buf_to_array(&buf)
    finally:
        free(buf.data)


def boundaries_many(list counts, const int64_t[::1] hs, const int64_t[::1] ws,
                    Py_ssize_t index_base):
    """``boundaries`` of many masks in one call: ``(all, offsets)``.

    ``all`` holds the boundaries of mask i at ``all[offsets[i]:offsets[i + 1]]``
    (int64 arrays; the layout ``iou_rows_into`` reads). Parses every mask
    without the GIL, one after another; a malformed one raises for mask
    ``index_base + i`` (-1: a single mask, no index).
    """
    cdef Py_ssize_t n = len(counts), i, failed = -1
    cdef int r = 0
    cdef list keep = []
    cdef I64Buf buf
    cdef int64_t[::1] view
    if hs.shape[0] != n or ws.shape[0] != n:
        raise ValueError("boundaries_many: size arrays must match the counts")
    cdef Src *srcs = <Src *>malloc((n if n else 1) * sizeof(Src))
    cdef Py_ssize_t *off = <Py_ssize_t *>malloc((n + 1) * sizeof(Py_ssize_t))
    buf.data = NULL
    buf.size = buf.cap = 0
    try:
        if srcs == NULL or off == NULL:
            raise MemoryError()
        for i in range(n):
            fill_src(&srcs[i], counts[i], hs[i] * ws[i], keep)
        with nogil:
            r = parse_all(srcs, n, &buf, off, &failed)
        if r < 0:
            _raise_batch_error(srcs, -r, hs[failed], ws[failed], failed, index_base)
        offsets = np.empty(n + 1, dtype=np.int64)
        view = offsets
        for i in range(n + 1):
            view[i] = off[i]
        return buf_to_array(&buf), offsets
    finally:
        free(srcs)
        free(off)
        free(buf.data)


cdef int stream_stats(Src *src, int64_t h, bint want_bbox, Stats *st) noexcept nogil:
    """Area and extent of a mask, streamed from its counts a chunk at a time.

    A compressed string goes to the SIMD kernel first: it returns the same
    result for every valid string it takes, and leaves every other string
    (all invalid ones included) to the loop below, so errors are unchanged.
    """
    cdef int64_t buf[CHUNK]
    cdef Py_ssize_t k, i
    cdef int64_t pos = 0, area = 0, fg, end, first = -1, last_end = -1
    cdef int64_t col_base = 0, start_base, y0 = h, y1 = -1
    cdef bint rows_full = False
    if src.s != NULL and sarle_stats_simd(src.s, src.n, h, src.total, st):
        return 0
    while not src.done:
        k = src_fill(src, buf, CHUNK)
        if k < 0:
            return <int>k
        if not want_bbox:
            for i in range(1, k, 2):
                area += buf[i]
            continue
        # Chunks hold an even number of counts except the last, so buf[i]
        # with even i is background and buf[i + 1] foreground.
        i = 0
        while i + 1 < k:
            pos += buf[i]
            fg = buf[i + 1]
            i += 2
            if fg == 0:
                continue
            area += fg
            end = pos + fg - 1
            if first < 0:
                first = pos
            last_end = end
            if not rows_full:
                # Track the first row of the column holding pos, then end;
                # positions only grow, so this divides only on long jumps.
                if pos - col_base >= h:
                    col_base = col_base + h if pos - col_base < 2 * h else (pos // h) * h
                start_base = col_base
                if pos - col_base < y0:
                    y0 = pos - col_base
                if end - col_base >= h:
                    col_base = col_base + h if end - col_base < 2 * h else (end // h) * h
                if col_base != start_base:
                    y0 = 0
                    y1 = h - 1
                elif end - col_base > y1:
                    y1 = end - col_base
                rows_full = y0 == 0 and y1 == h - 1
            pos += fg
    st.area = area
    if first < 0:
        st.x0 = st.y0 = 0
        st.x1 = st.y1 = -1
    else:
        st.x0 = first // h
        st.x1 = last_end // h
        st.y0 = y0
        st.y1 = y1
    return 0


def area_bbox_into(list counts, const int64_t[::1] hs, const int64_t[::1] ws,
                   uint64_t[::1] areas, double[:, ::1] boxes, Py_ssize_t index_base):
    """Areas (and COCO XYWH boxes) of many masks, streamed from their counts.

    Parameters
    ----------
    counts : list of str, bytes or int64 ndarray
    hs, ws : int64 arrays
        Size of each mask.
    areas : uint64 array, shape (n,)
        Receives the pixel counts.
    boxes : float64 array, shape (n, 4), or None
        Receives pycocotools ``toBbox`` boxes, when given.
    index_base : int
        Error messages name mask ``index_base + i``; -1: a single mask, no index.
    """
    cdef Py_ssize_t n = len(counts), i, failed = -1
    cdef int r = 0
    cdef Stats st
    cdef list keep = []
    cdef bint want_bbox = boxes is not None
    if areas.shape[0] != n or hs.shape[0] != n or ws.shape[0] != n or (
            want_bbox and (boxes.shape[0] != n or boxes.shape[1] != 4)):
        raise ValueError("area_bbox_into: output and size arrays must match the counts")
    cdef Src *srcs = <Src *>malloc((n if n else 1) * sizeof(Src))
    if srcs == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            fill_src(&srcs[i], counts[i], hs[i] * ws[i], keep)
        with nogil:
            for i in range(n):
                r = stream_stats(&srcs[i], hs[i], want_bbox, &st)
                if r < 0:
                    failed = i
                    break
                areas[i] = <uint64_t>st.area
                if want_bbox:
                    if st.x1 < 0:
                        boxes[i, 0] = boxes[i, 1] = boxes[i, 2] = boxes[i, 3] = 0.0
                    else:
                        boxes[i, 0] = <double>st.x0
                        boxes[i, 1] = <double>st.y0
                        boxes[i, 2] = <double>(st.x1 - st.x0 + 1)
                        boxes[i, 3] = <double>(st.y1 - st.y0 + 1)
        if failed >= 0:
            _raise_batch_error(srcs, -r, hs[failed], ws[failed], failed, index_base)
    finally:
        free(srcs)


def json_rle_columns(list rles, int64_t max_pixels):
    """Counts, heights and widths of a list of RLE dicts as ``json.load`` gives them.

    The fast path of ``area``/``bbox``: every item must be an exact ``dict``
    whose ``"size"`` is a list of two ``int`` (``0 <= h, w``, ``h * w <=
    max_pixels``) and whose ``"counts"`` is an ASCII ``str`` or ``bytes``.
    Returns ``(counts list, hs, ws)`` (int64 arrays), or None as soon as one
    item is anything else, for the general parser (and its error messages)
    to take the whole list.
    """
    cdef Py_ssize_t n = len(rles), i
    cdef object item, size, counts, h_obj, w_obj
    cdef long long h, w
    cdef int overflow = 0
    cdef list kept = [None] * n
    hs_array = np.empty(n, dtype=np.int64)
    ws_array = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] hs = hs_array
    cdef int64_t[::1] ws = ws_array
    for i in range(n):
        item = rles[i]
        if type(item) is not dict:
            return None
        size = (<dict>item).get("size")
        counts = (<dict>item).get("counts")
        if type(size) is not list or len(<list>size) != 2:
            return None
        if type(counts) is str:
            if not PyUnicode_IS_COMPACT_ASCII(counts):
                return None
        elif type(counts) is not bytes:
            return None
        h_obj = (<list>size)[0]
        w_obj = (<list>size)[1]
        if type(h_obj) is not int or type(w_obj) is not int:
            return None
        h = PyLong_AsLongLongAndOverflow(h_obj, &overflow)
        if overflow:
            return None
        w = PyLong_AsLongLongAndOverflow(w_obj, &overflow)
        if overflow or h < 0 or w < 0 or h > max_pixels or w > max_pixels:
            return None
        if h != 0 and w > max_pixels // h:
            return None
        hs[i] = h
        ws[i] = w
        kept[i] = counts
    return kept, hs_array, ws_array


def stats_one(object counts, int64_t h, int64_t w, bint want_bbox):
    """Area and inclusive extent of one mask: ``(area, x0, y0, x1, y1)``.

    ``x1`` is -1 for an empty mask. The fast path of ``area``/``bbox``.
    """
    cdef Src src
    cdef Stats st
    cdef int r
    cdef list keep = []
    fill_src(&src, counts, h * w, keep)
    with nogil:
        r = stream_stats(&src, h, want_bbox, &st)
    if r < 0:
        _raise_parse_error(&src, -r, h, w, -1)
    return st.area, st.x0, st.y0, st.x1, st.y1


def _set_stats_simd(int level):
    """Tests only: run the area/bbox kernel of ``level`` from now on.

    0: the scalar parser alone, 1: AVX2, 2: AVX-512. Returns the level in use
    before; raises ValueError for a level this CPU or build cannot run.
    """
    if not 0 <= level <= sarle_stats_simd_best():
        raise ValueError(f"stats SIMD level {level} not available "
                         f"(this CPU and build: 0..{sarle_stats_simd_best()})")
    before = sarle_stats_simd_level()
    sarle_stats_simd_set_level(level)
    return before


def _stats_simd_levels():
    """``(level in use, best level this CPU and build can run)``; see ``_set_stats_simd``."""
    return sarle_stats_simd_level(), sarle_stats_simd_best()


def _stats_simd_one(object counts, int64_t h, int64_t w):
    """Tests only: the SIMD kernel alone, on one compressed string (str or bytes).

    ``(area, x0, y0, x1, y1)`` as ``stats_one``, or None where the kernel
    leaves the string to the scalar parser (always at level 0).
    """
    cdef Src src
    cdef Stats st
    cdef bint handled
    cdef list keep = []
    if type(counts) is not str and type(counts) is not bytes:
        raise TypeError("_stats_simd_one takes a compressed string")
    fill_src(&src, counts, h * w, keep)
    with nogil:
        handled = sarle_stats_simd(src.s, src.n, h, src.total, &st)
    return (st.area, st.x0, st.y0, st.x1, st.y1) if handled else None


def _boundaries_simd_one(object counts, int64_t h, int64_t w):
    """Tests only: the SIMD boundary parser alone, on one compressed string.

    The boundaries as ``boundaries`` gives them, or None where the kernel
    leaves the string to the scalar parser (always at level 0).
    """
    cdef Src src
    cdef I64Buf buf
    cdef int64_t got
    cdef list keep = []
    if type(counts) is not str and type(counts) is not bytes:
        raise TypeError("_boundaries_simd_one takes a compressed string")
    fill_src(&src, counts, h * w, keep)
    buf.data = NULL
    buf.size = buf.cap = 0
    try:
        if buf_reserve(&buf, src.n + 16) < 0:
            raise MemoryError()
        with nogil:
            got = sarle_boundaries_simd(src.s, src.n, src.total, buf.data, src.n + 16)
        if got < 0:
            return None
        buf.size = got
        return buf_to_array(&buf)
    finally:
        free(buf.data)


# ---------------------------------------------------------------------------
# Decoding.

cdef enum:
    # Which pixels a decode writes.
    WRITE_FG = 1     # the foreground: the output is already all zero
    WRITE_ALL = 2    # every pixel


cdef int decode_fortran(Src *src, uint8_t *out, int writes) noexcept nogil:
    """Write the mask column-major: runs become memsets (``writes``: which)."""
    cdef int64_t buf[CHUNK]
    cdef Py_ssize_t k, i
    cdef int64_t pos = 0, bg, fg
    while not src.done:
        k = src_fill(src, buf, CHUNK)
        if k < 0:
            return <int>k
        i = 0
        while i < k:
            bg = buf[i]
            if bg and writes == WRITE_ALL:
                memset(out + pos, 0, <size_t>bg)
            pos += bg
            if i + 1 < k:
                fg = buf[i + 1]
                if fg:
                    memset(out + pos, 1, <size_t>fg)
                pos += fg
            i += 2
    return 0


cdef struct Walker:
    # Walks column-major runs one column at a time.
    Reader *rd
    int64_t h
    int64_t run_end
    int v


cdef inline int walker_pull(Walker *k) noexcept nogil:
    cdef int64_t run = 0
    cdef int r = reader_next(k.rd, &run)
    if r == 0:
        return -E_SUM_UNDER   # unreachable: a short stream errors in src_fill
    if r < 0:
        return r
    k.v ^= 1
    k.run_end += run
    return 1


cdef inline int walk_column(Walker *k, int64_t base, int64_t *tog,
                     Py_ssize_t *ntog) noexcept nogil:
    """Rows at which column ``[base, base + h)`` toggles, starting from 0."""
    cdef Py_ssize_t nt = 0
    cdef int r
    cdef int64_t top = base + k.h, row
    while k.run_end <= base:
        r = walker_pull(k)
        if r < 0:
            return r
    if k.v:
        tog[0] = 0
        nt = 1
    while k.run_end < top:
        row = k.run_end - base
        if nt and tog[nt - 1] == row:
            nt -= 1
        else:
            tog[nt] = row
            nt += 1
        r = walker_pull(k)
        if r < 0:
            return r
    ntog[0] = nt
    return 0


cdef inline Py_ssize_t xor_sorted(const int64_t *a, Py_ssize_t na, const int64_t *b,
                           Py_ssize_t nb, int64_t *out) noexcept nogil:
    """Symmetric difference of two strictly increasing lists."""
    cdef Py_ssize_t i = 0, j = 0, k = 0
    while i < na and j < nb:
        if a[i] < b[j]:
            out[k] = a[i]
            i += 1
            k += 1
        elif b[j] < a[i]:
            out[k] = b[j]
            j += 1
            k += 1
        else:
            i += 1
            j += 1
    while i < na:
        out[k] = a[i]
        i += 1
        k += 1
    while j < nb:
        out[k] = b[j]
        j += 1
        k += 1
    return k


cdef struct Sweep:
    # Scratch for turning column-major runs into row-major edges.
    int64_t *prev     # toggles of the previous column
    int64_t *cur      # toggles of this column
    int64_t *flips    # rows whose value differs from the previous column
    int64_t *state    # per row: open run start (decode) / edge counter (transpose)
    int64_t *done     # per row: columns written so far (SWEEP_PAINT_ALL), else NULL
    # SWEEP_COLLECT: each row's segments, a list linked through `segs`
    # (start, end, next: pixel offsets in the C-order mask, the index of the
    # row's next segment in `segs` or -1); the row's first and last, or -1.
    I64Buf segs
    int64_t *head
    int64_t *tail


cdef int sweep_alloc(Sweep *sw, int64_t h) noexcept nogil:
    sw.prev = <int64_t *>malloc((h + 1) * sizeof(int64_t))
    sw.cur = <int64_t *>malloc((h + 1) * sizeof(int64_t))
    sw.flips = <int64_t *>malloc((2 * h + 2) * sizeof(int64_t))
    sw.state = <int64_t *>malloc((h + 1) * sizeof(int64_t))
    sw.done = NULL
    sw.head = NULL
    sw.tail = NULL
    sw.segs.data = NULL
    sw.segs.size = 0
    sw.segs.cap = 0
    if sw.prev == NULL or sw.cur == NULL or sw.flips == NULL or sw.state == NULL:
        return -E_MEMORY
    return 0


cdef void sweep_free(Sweep *sw) noexcept nogil:
    free(sw.prev)
    free(sw.cur)
    free(sw.flips)
    free(sw.state)
    free(sw.done)
    free(sw.head)
    free(sw.tail)
    free(sw.segs.data)


cdef enum:
    SWEEP_PAINT = 0      # decode: memset row segments into a zeroed C-order mask
    SWEEP_COUNT = 1      # transpose pass 1: count edges per row
    SWEEP_FILL = 2       # transpose pass 2: store edges per row
    SWEEP_PAINT_ALL = 3  # decode: as SWEEP_PAINT, and the zeros before each segment
    SWEEP_COLLECT = 4    # decode: keep each row's segments in Sweep.segs


cdef inline int collect_segment(Sweep *sw, int64_t row, int64_t start,
                                int64_t end) noexcept nogil:
    """Append the segment ``[start, end)`` (C-order offsets) to row ``row``'s list."""
    cdef I64Buf *segs = &sw.segs
    cdef Py_ssize_t i = segs.size
    if i + 3 > segs.cap and buf_reserve(segs, 3) < 0:
        return -E_MEMORY
    segs.data[i] = start
    segs.data[i + 1] = end
    segs.data[i + 2] = -1
    segs.size = i + 3
    if sw.tail[row] < 0:
        sw.head[row] = i
    else:
        segs.data[sw.tail[row] + 2] = i
    sw.tail[row] = i
    return 0


cdef int sweep_columns(Src *src, int64_t h, int64_t w, Sweep *sw, int mode,
                       uint8_t *out, int64_t *edges) noexcept nogil:
    """Walk the columns of an h x w column-major mask and visit its row edges.

    A row edge at (r, c) is where row r changes value between columns c-1
    and c (column -1 and column w are background). They are found as the
    symmetric difference of consecutive columns' toggle lists, so the cost is
    O(runs + w + edges), never O(h * w).
    """
    cdef Reader rd
    cdef Walker k
    cdef Py_ssize_t nprev = 0, ncur = 0, nf, q
    cdef int64_t c = 0, ra, rb, row, start
    cdef int64_t *tmp
    cdef uint8_t *line
    cdef int r
    reader_init(&rd, src)
    k.rd = &rd
    k.h = h
    k.run_end = 0
    k.v = 1     # a virtual empty foreground run precedes the first count
    while c <= w:
        # Columns that lie wholly inside the current run, when the previous
        # column was uniform in that run's value too, change no row: jump
        # past them (most columns of a small mask are empty).
        if c < w and k.run_end >= (c + 1) * h and c > 0 and (
                (nprev == 0 and not k.v) or (nprev == 1 and k.v and sw.prev[0] == 0)):
            c = k.run_end // h
            continue
        if c < w:
            r = walk_column(&k, c * h, sw.cur, &ncur)
            if r < 0:
                return r
        else:
            ncur = 0
        nf = xor_sorted(sw.prev, nprev, sw.cur, ncur, sw.flips)
        q = 0
        while q < nf:
            ra = sw.flips[q]
            rb = sw.flips[q + 1] if q + 1 < nf else h
            q += 2
            if mode == SWEEP_PAINT or mode == SWEEP_PAINT_ALL or mode == SWEEP_COLLECT:
                for row in range(ra, rb):
                    start = sw.state[row]
                    if start < 0:
                        sw.state[row] = c
                    elif mode == SWEEP_COLLECT:
                        if collect_segment(sw, row, row * w + start, row * w + c) < 0:
                            return -E_MEMORY
                        sw.state[row] = -1
                    else:
                        line = out + row * w
                        if mode == SWEEP_PAINT_ALL:
                            memset(line + sw.done[row], 0, <size_t>(start - sw.done[row]))
                            sw.done[row] = c
                        memset(line + start, 1, <size_t>(c - start))
                        sw.state[row] = -1
            elif mode == SWEEP_COUNT:
                sw.state[ra] += 1
                sw.state[rb] -= 1
            else:
                for row in range(ra, rb):
                    edges[sw.state[row]] = c
                    sw.state[row] += 1
        tmp = sw.prev
        sw.prev = sw.cur
        sw.cur = tmp
        nprev = ncur
        c += 1
    return drain(&rd)


cdef int decode_c_strided(Src *src, int64_t h, int64_t w, uint8_t *out) noexcept nogil:
    """C-order decode by strided writes, pixel by pixel down each column.

    O(foreground pixels): the way for narrow masks, and for masks whose
    runs are so short that the column sweep would visit about as many rows.
    """
    cdef Reader rd
    cdef int64_t run = 0, pos = 0, p, row, col
    cdef uint8_t *dst
    cdef int r
    cdef int v = 0
    reader_init(&rd, src)
    while True:
        r = reader_next(&rd, &run)
        if r <= 0:
            break
        if v and run:
            col = pos // h
            row = pos - col * h
            dst = out + row * w + col
            for p in range(run):
                dst[0] = 1
                dst += w
                row += 1
                if row == h:
                    row = 0
                    col += 1
                    dst = out + col
        pos += run
        v ^= 1
    return r


#: A C-order decode writes pixel by pixel (``decode_c_strided``) instead of
#: sweeping columns when the foreground runs average fewer pixels than this
#: (textures, fragments): the sweep then visits about one row per pixel, at
#: several times the cost of a store. Tests change it with ``_set_strided_run``.
cdef int64_t strided_run_limit = 12


cdef int64_t area_first(Src *src, int64_t h) noexcept nogil:
    """A mask's area from a pass of the area kernel, ``src`` rewound after.

    About 0.5 ns a character, a small part of a decode. -1 for a malformed
    string: the decode that follows reports it.
    """
    cdef Stats st
    cdef int r = stream_stats(src, h, False, &st)
    src_reset(src)
    return st.area if r == 0 else -1


cdef int64_t swap_tuning(int64_t *setting, int64_t limit) except -1:
    """Set a kernel tuning (a limit, never negative) to ``limit``; return the old one."""
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    cdef int64_t before = setting[0]
    setting[0] = limit
    return before


def _set_strided_run(int64_t limit):
    """Tests only: set ``strided_run_limit`` (0: never strided); returns the old one."""
    return swap_tuning(&strided_run_limit, limit)


#: A decode that writes every byte of an output of at least this many bytes
#: (``out=`` of a batch) goes through ``decode_streamed``, by non-temporal
#: stores: such an output cannot stay in the caches for its reader. Below
#: it, plain stores leave the output in cache. Tests change it with
#: ``_set_stream_stores``.
cdef int64_t stream_store_bytes = 16 << 20


def _set_stream_stores(int64_t limit):
    """Tests only: set ``stream_store_bytes`` (0: always); returns the old one."""
    return swap_tuning(&stream_store_bytes, limit)


cdef inline bint uses_strided(int64_t h, int64_t w, int64_t area, Py_ssize_t chars) noexcept nogil:
    """Whether a C-order decode writes pixel by pixel (``decode_c_strided``).

    Narrow masks, and masks whose foreground runs average under
    ``strided_run_limit`` pixels: area / (counts / 2), with the characters
    (at least the counts) for counts; in double, as int64 products could
    overflow. ``area`` -1 (unknown or malformed): not by the runs.
    """
    return w <= 16 or (area >= 0 and
                       2.0 * <double>area < <double>strided_run_limit * <double>chars)


cdef int decode_c(Src *src, int64_t h, int64_t w, uint8_t *out, int writes,
                  int64_t area) noexcept nogil:
    """Write the mask row-major straight from column-major runs.

    ``writes``: ``WRITE_FG`` (``out`` is all zero, only foreground is
    written) or ``WRITE_ALL`` (every byte, once by the column sweep, a memset
    first on the strided way). ``area``: the mask's area where the caller
    has it, else -1.
    """
    cdef Sweep sw
    cdef Reader rd
    cdef int r
    cdef int64_t i, start
    if h == 0 or w == 0:
        reader_init(&rd, src)
        return drain(&rd)
    if w == 1 or h == 1:
        return decode_fortran(src, out, writes)   # both layouts coincide
    if w > 16 and area < 0 and strided_run_limit > 0:
        area = area_first(src, h)
    if uses_strided(h, w, area, src.n):
        if writes == WRITE_ALL:
            memset(out, 0, <size_t>(h * w))
        return decode_c_strided(src, h, w, out)
    if sweep_alloc(&sw, h) < 0:
        sweep_free(&sw)
        return -E_MEMORY
    if writes == WRITE_ALL:
        sw.done = <int64_t *>calloc(h, sizeof(int64_t))
        if sw.done == NULL:
            sweep_free(&sw)
            return -E_MEMORY
    for i in range(h):
        sw.state[i] = -1
    r = sweep_columns(src, h, w, &sw, SWEEP_PAINT_ALL if writes == WRITE_ALL else SWEEP_PAINT,
                      out, NULL)
    if r == 0 and writes == WRITE_ALL:
        # The rest of each row; rows the sweep never wrote (done == 0) join
        # the fill before them, so a small mask ends in a few long fills.
        i = 0
        while i < h:
            start = i * w + sw.done[i]
            i += 1
            while i < h and sw.done[i] == 0:
                i += 1
            memset(out + start, 0, <size_t>(i * w - start))
    sweep_free(&sw)
    return r


cdef int stream_fortran(Src *src, uint8_t *out, int64_t total) noexcept nogil:
    """Write a column-major mask by a ``Stream``: its runs come in memory order."""
    cdef int64_t buf[CHUNK]
    cdef Py_ssize_t k, i
    cdef Stream st
    sarle_stream_open(&st, out, out + total)
    while not src.done:
        k = src_fill(src, buf, CHUNK)
        if k < 0:
            sarle_stream_close(&st)
            return <int>k
        i = 0
        while i < k:
            sarle_stream_put(&st, 0, buf[i])
            if i + 1 < k:
                sarle_stream_put(&st, 1, buf[i + 1])
            i += 2
    sarle_stream_close(&st)
    return 0


cdef int stream_c(Src *src, int64_t h, int64_t w, uint8_t *out) noexcept nogil:
    """Write a row-major mask by a ``Stream``.

    The column sweep collects every row's segments first (``SWEEP_COLLECT``);
    they are then written row by row, in memory order.
    """
    cdef Sweep sw
    cdef Stream st
    cdef int r
    cdef int64_t row, pos = 0, start, end
    cdef Py_ssize_t i
    if sweep_alloc(&sw, h) < 0:
        sweep_free(&sw)
        return -E_MEMORY
    sw.head = <int64_t *>malloc(h * sizeof(int64_t))
    sw.tail = <int64_t *>malloc(h * sizeof(int64_t))
    if sw.head == NULL or sw.tail == NULL:
        sweep_free(&sw)
        return -E_MEMORY
    for row in range(h):
        sw.state[row] = -1
        sw.head[row] = -1
        sw.tail[row] = -1
    r = sweep_columns(src, h, w, &sw, SWEEP_COLLECT, out, NULL)
    if r == 0:
        sarle_stream_open(&st, out, out + h * w)
        for row in range(h):
            i = sw.head[row]
            while i >= 0:
                start = sw.segs.data[i]
                end = sw.segs.data[i + 1]
                sarle_stream_put(&st, 0, start - pos)
                sarle_stream_put(&st, 1, end - start)
                pos = end
                i = sw.segs.data[i + 2]
        sarle_stream_put(&st, 0, h * w - pos)
        sarle_stream_close(&st)
    sweep_free(&sw)
    return r


cdef int decode_streamed(Src *src, int64_t h, int64_t w, uint8_t *out,
                         bint c_order) noexcept nogil:
    """Write every byte of a mask in an output too large for the caches.

    Each 64-byte line is written once, whole, by non-temporal stores, in
    memory order (a ``Stream``): no line is read from memory before it is
    written, as a plain store would. A row-major mask that takes the strided
    way (``uses_strided``) is instead zeroed whole by non-temporal stores and
    then written pixel by pixel. On the bench corpus, 300 MB into ``out=``:
    15 ms an image with plain stores for every byte, 7.1-7.9 ms with a
    non-temporal zeroing and then the foreground (read again from memory),
    5.7-6.0 ms this way; a memset of zeros over the same bytes takes
    4.0-4.3 ms.
    """
    cdef Reader rd
    cdef int64_t area = -1
    cdef int r
    if h == 0 or w == 0:
        reader_init(&rd, src)
        return drain(&rd)
    if not c_order or w == 1 or h == 1:
        return stream_fortran(src, out, h * w)    # both layouts coincide for one row or column
    if w > 16 and strided_run_limit > 0:
        area = area_first(src, h)
    if uses_strided(h, w, area, src.n):
        sarle_fill_stream(out, 0, h * w)
        r = decode_c_strided(src, h, w, out)
        sarle_stream_fence()
        return r
    return stream_c(src, h, w, out)


def decode_into(list counts, int64_t h, int64_t w, uint8_t[::1] out,
                bint c_order, bint zeroed, Py_ssize_t index_base, int64_t batch_bytes=0):
    """Decode masks of one size into consecutive ``h * w`` blocks of ``out``.

    Parameters
    ----------
    counts : list of bytes or int64 ndarray
    h, w : int
    out : uint8 memoryview of ``len(counts) * h * w`` bytes
    c_order : bool
        Row-major blocks if true, column-major if false.
    zeroed : bool
        ``out`` is known to be all zero (only foreground is written).
        Otherwise every byte is written, by non-temporal stores where
        the whole output holds at least ``stream_store_bytes``.
    index_base : int
        Error messages name mask ``index_base + i``; -1: a single mask, no index.
    batch_bytes : int
        Size of the whole output, where ``out`` is a thread's slice of it
        (else ``out``'s own size counts).
    """
    cdef Py_ssize_t n = len(counts), i, failed = -1
    cdef int64_t total = h * w
    cdef int r = 0
    cdef bint stream = not zeroed and max(n * total, batch_bytes) >= stream_store_bytes
    cdef int writes = WRITE_FG if zeroed else WRITE_ALL
    cdef uint8_t *base
    if out.shape[0] != n * total:
        raise ValueError(f"output holds {out.shape[0]} bytes, expected {n * total}")
    if n == 0:
        return
    cdef list keep = []
    cdef Src *srcs = <Src *>malloc(n * sizeof(Src))
    if srcs == NULL:
        raise MemoryError()
    base = &out[0] if out.shape[0] else <uint8_t *>NULL
    try:
        for i in range(n):
            fill_src(&srcs[i], counts[i], total, keep)
        with nogil:
            for i in range(n):
                if stream:
                    r = decode_streamed(&srcs[i], h, w, base + i * total, c_order)
                elif c_order:
                    r = decode_c(&srcs[i], h, w, base + i * total, writes, -1)
                else:
                    r = decode_fortran(&srcs[i], base + i * total, writes)
                if r < 0:
                    failed = i
                    break
        if failed >= 0:
            _raise_batch_error(srcs, -r, h, w, failed, index_base)
    finally:
        free(srcs)


_zeros = np.zeros
_empty = np.empty
_bool = np.bool_


def decode_new(object counts, int64_t h, int64_t w, bint c_order):
    """Decode one mask into a fresh ``(h, w)`` bool array and return it.

    The single-mask path of ``sarle.decode`` without ``out=`` or sampling:
    one call instead of ``decode_into``'s views and slices. The area comes
    first: a mask mostly background goes into ``np.zeros``, its background
    pages never touched; a mask mostly foreground touches every page anyway,
    so it goes into ``np.empty`` and every byte is written once, without
    the memset that ``np.zeros`` of reused memory costs.

    Parameters
    ----------
    counts : ASCII str, bytes or C-contiguous int64 ndarray
    h, w : int
        Both positive, ``h * w`` small enough to allocate before parsing.
    c_order : bool
        Row-major result if true, column-major (F-contiguous) if false.
    """
    cdef Src src
    cdef Py_buffer view
    cdef int r
    cdef int64_t area
    cdef bint dense
    cdef list keep = []
    fill_src(&src, counts, h * w, keep)
    with nogil:
        area = area_first(&src, h)
    dense = area > h * w - area
    result = (_empty if dense else _zeros)((h, w) if c_order else (w, h), dtype=_bool)
    PyObject_GetBuffer(result, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS)
    with nogil:
        if c_order:
            r = decode_c(&src, h, w, <uint8_t *>view.buf, WRITE_ALL if dense else WRITE_FG, area)
        else:
            r = decode_fortran(&src, <uint8_t *>view.buf, WRITE_ALL if dense else WRITE_FG)
    PyBuffer_Release(&view)
    if r < 0:
        _raise_parse_error(&src, -r, h, w, -1)
    return result if c_order else result.T


# ---------------------------------------------------------------------------
# Sampled decoding: crops, nearest-neighbour resampling and label maps.

cdef inline void paint(void *out, int itemsize, int64_t start, int64_t count,
                       int64_t label) noexcept nogil:
    """Set ``count`` items of ``out`` (1, 2 or 4 bytes each) from ``start`` to ``label``."""
    cdef int64_t i
    cdef uint16_t *out16
    cdef int32_t *out32
    if itemsize == 1:
        memset(<uint8_t *>out + start, <int>label, <size_t>count)
    elif itemsize == 2:
        out16 = <uint16_t *>out
        for i in range(start, start + count):
            out16[i] = <uint16_t>label
    else:
        out32 = <int32_t *>out
        for i in range(start, start + count):
            out32[i] = <int32_t>label


cdef inline void paint_column(void *out, int itemsize, const int64_t *tog, Py_ssize_t nt,
                              int64_t base, int64_t h2, int64_t label) noexcept nogil:
    """Paint one column-major output column from its toggle rows."""
    cdef Py_ssize_t q = 0
    cdef int64_t a, b
    while q < nt:
        a = tog[q]
        b = tog[q + 1] if q + 1 < nt else h2
        paint(out, itemsize, base + a, b - a, label)
        q += 2


cdef int sample_mask(Src *src, int64_t h, const int64_t *src_col, int64_t w2,
                     const int64_t *row_first, int64_t h2, bint c_order,
                     void *out, int itemsize, int64_t label) noexcept nogil:
    """Paint the foreground of a sampled view of one h-row mask.

    Output pixel (i, j) is source pixel (rows[i], src_col[j]), where
    ``src_col`` is non-decreasing and ``row_first[r]`` (r in [0, h]) is the
    first output row i with rows[i] >= r (rows non-decreasing). A crop, a
    nearest-neighbour resample and both at once are such views. Each source
    column's toggle rows map through ``row_first`` (toggles that land on
    the same output row cancel: no sampled row lies between them), so the
    cost is O(runs + w + output edges), never O(h * w). Foreground is written
    as ``label`` in items of ``itemsize`` bytes (1, 2 or 4); background is
    left untouched.
    """
    cdef Reader rd
    cdef Walker k
    cdef int64_t *tmp = <int64_t *>malloc((h + 1) * sizeof(int64_t))
    cdef int64_t *prev = <int64_t *>malloc((h2 + 1) * sizeof(int64_t))
    cdef int64_t *cur = <int64_t *>malloc((h2 + 1) * sizeof(int64_t))
    cdef int64_t *flips = <int64_t *>malloc((2 * h2 + 2) * sizeof(int64_t))
    cdef int64_t *state = <int64_t *>malloc((h2 + 1) * sizeof(int64_t))
    cdef int64_t *swap
    cdef Py_ssize_t nt = 0, nprev = 0, ncur = 0, nf, q
    cdef int64_t j, sc, last_sc = -1, row, start, a, b, i, end_col
    cdef int r = 0
    if tmp == NULL or prev == NULL or cur == NULL or flips == NULL or state == NULL:
        r = -E_MEMORY
    else:
        for i in range(h2):
            state[i] = -1
        reader_init(&rd, src)
        k.rd = &rd
        k.h = h
        k.run_end = 0
        k.v = 1
        end_col = w2 + 1 if c_order else w2
        j = 0
        while j < end_col:
            if j < w2:
                sc = src_col[j]
                if sc == last_sc:
                    # Same source column as the previous output column.
                    if not c_order:
                        paint_column(out, itemsize, prev, nprev, j * h2, h2, label)
                    j += 1
                    continue
                r = walk_column(&k, sc * h, tmp, &nt)
                if r < 0:
                    break
                ncur = 0
                for q in range(nt):
                    i = row_first[tmp[q]]
                    if i >= h2:
                        break
                    if ncur and cur[ncur - 1] == i:
                        ncur -= 1
                    else:
                        cur[ncur] = i
                        ncur += 1
                last_sc = sc
            else:
                ncur = 0
            if not c_order:
                paint_column(out, itemsize, cur, ncur, j * h2, h2, label)
            else:
                nf = xor_sorted(prev, nprev, cur, ncur, flips)
                q = 0
                while q < nf:
                    a = flips[q]
                    b = flips[q + 1] if q + 1 < nf else h2
                    q += 2
                    for row in range(a, b):
                        start = state[row]
                        if start < 0:
                            state[row] = j
                        else:
                            paint(out, itemsize, row * w2 + start, j - start, label)
                            state[row] = -1
            swap = prev
            prev = cur
            cur = swap
            nprev = ncur
            j += 1
        if r >= 0:
            r = drain(&rd)
    free(tmp)
    free(prev)
    free(cur)
    free(flips)
    free(state)
    return r


cdef int check_view(int64_t h, int64_t w, const int64_t[::1] src_col,
                    const int64_t[::1] row_first, int64_t h2) except -1:
    """A sampled view must be monotone and inside the mask (kernels rely on it)."""
    cdef Py_ssize_t i
    if row_first.shape[0] != h + 1:
        raise ValueError("row_first must have h + 1 entries")
    for i in range(src_col.shape[0]):
        if src_col[i] < 0 or src_col[i] >= w or (i and src_col[i] < src_col[i - 1]):
            raise ValueError("src_col must be non-decreasing within [0, w)")
    for i in range(h + 1):
        if row_first[i] < 0 or row_first[i] > h2 or (i and row_first[i] < row_first[i - 1]):
            raise ValueError("row_first must be non-decreasing within [0, h2]")
    return 0


def sample_into(list counts, int64_t h, int64_t w, const int64_t[::1] src_col,
                const int64_t[::1] row_first, int64_t h2, bint c_order,
                uint8_t[::1] out, Py_ssize_t index_base, bint zeroed=True,
                int64_t batch_bytes=0):
    """Decode sampled views (crop and/or resample) of masks, one block each.

    Parameters
    ----------
    counts : list of str, bytes or int64 ndarray
        Masks of size ``h x w``.
    src_col : int64 array, length w2, non-decreasing, values in [0, w)
        Source column of each output column.
    row_first : int64 array, length h + 1, non-decreasing, values in [0, h2]
        First output row sampling a source row >= r.
    h2 : int
        Output rows.
    c_order : bool
        Output layout of each block.
    out : uint8 array of ``len(counts) * h2 * w2`` bytes
        One block per mask; foreground is written as 1.
    index_base : int
        Error messages name mask ``index_base + i``; -1: a single mask.
    zeroed : bool
        ``out`` is known to be all zero. Otherwise each block is zeroed just
        before its mask is painted: by non-temporal stores where the whole
        output (``batch_bytes``, else ``out``'s size) holds at least
        ``stream_store_bytes``, which skip reading each line first.
    """
    cdef Py_ssize_t n = len(counts), i, failed = -1
    cdef int64_t w2 = src_col.shape[0], block = h2 * src_col.shape[0]
    cdef bint stream = not zeroed and max(n * block, batch_bytes) >= stream_store_bytes
    cdef int r = 0
    cdef list keep = []
    cdef uint8_t *base = NULL
    cdef Src *srcs
    check_view(h, w, src_col, row_first, h2)
    if out.shape[0] != n * block:
        raise ValueError("sample_into: output does not match")
    if block:
        base = &out[0]
    if n == 0:
        return
    srcs = <Src *>malloc(n * sizeof(Src))
    if srcs == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            fill_src(&srcs[i], counts[i], h * w, keep)
        with nogil:
            for i in range(n):
                if stream:
                    sarle_fill_stream(base + i * block, 0, block)
                elif not zeroed and block:
                    memset(base + i * block, 0, <size_t>block)
                if h * w == 0 or block == 0:
                    reader_init_drain(&srcs[i], &r)
                else:
                    r = sample_mask(&srcs[i], h, &src_col[0], w2, &row_first[0], h2, c_order,
                                    base + i * block, 1, 1)
                if r < 0:
                    failed = i
                    break
            if stream:
                sarle_stream_fence()
        if failed >= 0:
            _raise_batch_error(srcs, -r, h, w, failed, index_base)
    finally:
        free(srcs)


cdef inline void reader_init_drain(Src *src, int *r) noexcept nogil:
    """Only validate a mask (nothing to paint)."""
    cdef Reader rd
    reader_init(&rd, src)
    r[0] = drain(&rd)


def label_into(list counts, int64_t h, int64_t w, const int64_t[::1] src_col,
               const int64_t[::1] row_first, int64_t h2, bint c_order,
               uint8_t[::1] out, int itemsize, const int64_t[::1] paint_order):
    """Paint a label map (mask i as ``i + 1``): ``paint_order[-1]`` on top, then down.

    Every mask is parsed first (errors name its index in ``counts``). Then,
    from the top of the paint order down, only the part of each mask not
    covered by the masks above it is painted, so each output pixel is
    written at most once: the cost is the output size plus O(runs) set
    operations per mask, not the sum of the mask areas.

    Parameters
    ----------
    counts : list of str, bytes or int64 ndarray, masks of size h x w
    src_col, row_first, h2 : the sampled view, as in ``sample_into``
    out : uint8 view of a zeroed array of ``h2 * len(src_col)`` items
    itemsize : 1, 2 or 4
        Item size of that array (uint8, uint16 or int32 labels); the labels
        must fit.
    paint_order : int64 array, a permutation of ``range(len(counts))``
    """
    cdef Py_ssize_t n = len(counts), i, q, failed = -1
    cdef int64_t w2 = src_col.shape[0], total = h * w
    cdef int r = 0
    cdef list keep = []
    cdef I64Buf bounds, cover, spare, visible, runs
    cdef Py_ssize_t *off = NULL
    cdef Src *srcs = NULL
    cdef Src vsrc
    cdef int64_t *swap_data
    cdef Py_ssize_t nv, ncover, idx
    cdef int64_t acc
    cdef bint paint_any = h2 * w2 > 0 and total > 0
    check_view(h, w, src_col, row_first, h2)
    if paint_order.shape[0] != n or out.shape[0] != h2 * w2 * itemsize \
            or itemsize not in (1, 2, 4) \
            or n >= (<int64_t>1 << (8 * itemsize - (1 if itemsize == 4 else 0))):
        raise ValueError("label_into: paint order, view, output or label range do not match")
    for i in range(n):
        if paint_order[i] < 0 or paint_order[i] >= n:
            raise ValueError("label_into: paint_order must hold mask indices")
    if n == 0:
        return
    bounds.data = cover.data = spare.data = visible.data = runs.data = NULL
    bounds.size = bounds.cap = cover.size = cover.cap = spare.size = spare.cap = 0
    visible.size = visible.cap = runs.size = runs.cap = 0
    srcs = <Src *>malloc(n * sizeof(Src))
    off = <Py_ssize_t *>malloc((n + 1) * sizeof(Py_ssize_t))
    try:
        if srcs == NULL or off == NULL:
            raise MemoryError()
        for i in range(n):
            fill_src(&srcs[i], counts[i], total, keep)
        with nogil:
            r = parse_all(srcs, n, &bounds, off, &failed)
            if r >= 0:
                if buf_reserve(&cover, bounds.size + 1) < 0 or \
                        buf_reserve(&spare, bounds.size + 1) < 0 or \
                        buf_reserve(&visible, bounds.size + 1) < 0 or \
                        buf_reserve(&runs, bounds.size + 2) < 0:
                    r = -E_MEMORY
            q = n - 1
            while r >= 0 and q >= 0:
                idx = paint_order[q]
                q -= 1
                nv = combine2(bounds.data + off[idx], off[idx + 1] - off[idx],
                              cover.data, cover.size, OP_MINUS, visible.data)
                if nv and paint_any:
                    # Visible part as runs, painted through the view.
                    acc = 0
                    for i in range(nv):
                        runs.data[i] = visible.data[i] - acc
                        acc = visible.data[i]
                    runs.data[nv] = total - acc
                    vsrc.s = NULL
                    vsrc.runs = runs.data
                    vsrc.n = nv + 1
                    vsrc.total = total
                    src_reset(&vsrc)
                    r = sample_mask(&vsrc, h, &src_col[0], w2, &row_first[0], h2, c_order,
                                    &out[0], itemsize, idx + 1)
                    if r < 0:
                        break
                ncover = combine2(cover.data, cover.size,
                                  bounds.data + off[idx], off[idx + 1] - off[idx],
                                  OP_UNION, spare.data)
                swap_data = cover.data
                cover.data = spare.data
                spare.data = swap_data
                cover.size = ncover
        if failed >= 0:
            _raise_parse_error(&srcs[failed], -r, h, w, failed)
        if r < 0:
            raise MemoryError()
    finally:
        free(srcs)
        free(off)
        free(bounds.data)
        free(cover.data)
        free(spare.data)
        free(visible.data)
        free(runs.data)


# ---------------------------------------------------------------------------
# Encoding.

cdef int scan_boundaries(const uint8_t *p, int64_t n, I64Buf *out) noexcept nogil:
    """Boundaries of the non-zero bytes of ``p[:n]`` (a flat mask)."""
    cdef int64_t i = 0, start
    cdef uint64_t value = 0   # of the byte before i (background before the start)
    cdef int want
    # Whole 64-byte blocks with AVX2/AVX-512 (chosen at run time), every change
    # of a block at once; SSE2 and bytes for the rest, one change at a time.
    while i + 64 <= n:
        if buf_reserve(out, 4096) < 0:
            return -E_MEMORY
        start = i
        out.size += sarle_scan_changes_simd(p, &i, n, &value, out.data + out.size,
                                            out.cap - out.size)
        if i == start:
            break   # the scalar level scans nothing here
    want = 0 if value else 1
    while True:
        i = sarle_find_change(p, i, n, want)
        if i >= n:
            break
        if buf_push(out, i) < 0:
            return -E_MEMORY
        want ^= 1
    return finish_boundaries(out, n)


cdef int transpose_boundaries(const int64_t *b, Py_ssize_t nb, int64_t h,
                              int64_t w, I64Buf *out) noexcept nogil:
    """Boundaries of the transpose of an h x w column-major mask.

    The result describes the w x h mask ``M.T`` column-major, i.e. ``M``
    read row-major. Edges are bucketed by row with a counting sort.
    """
    cdef Sweep sw
    cdef Src src
    cdef I64Buf runs
    cdef int64_t *edges = NULL
    cdef int64_t i, total = h * w, nedges, acc, row, e, j
    cdef int r
    # The sweep reads runs; rebuild them from the boundaries.
    runs.data = NULL
    runs.size = runs.cap = 0
    r = buf_reserve(&runs, nb + 1)
    if r < 0:
        return r
    acc = 0
    for i in range(nb):
        runs.data[i] = b[i] - acc
        acc = b[i]
    runs.data[nb] = total - acc
    runs.size = nb + 1
    src.s = NULL
    src.runs = runs.data
    src.n = runs.size
    src.total = total
    src_reset(&src)
    if sweep_alloc(&sw, h) < 0:
        r = -E_MEMORY
    else:
        memset(sw.state, 0, (h + 1) * sizeof(int64_t))
        r = sweep_columns(&src, h, w, &sw, SWEEP_COUNT, NULL, NULL)
    if r >= 0:
        # Per-row counts -> start offsets of each row's edges.
        acc = 0
        nedges = 0
        for row in range(h):
            acc += sw.state[row]
            sw.state[row] = nedges
            nedges += acc
        edges = <int64_t *>malloc((nedges if nedges else 1) * sizeof(int64_t))
        if edges == NULL:
            r = -E_MEMORY
    if r >= 0:
        src_reset(&src)
        r = sweep_columns(&src, h, w, &sw, SWEEP_FILL, NULL, edges)
    if r >= 0:
        # Row r's edges are sorted columns; flat row-major position r*w + e.
        j = 0
        for row in range(h):
            while j < sw.state[row]:
                e = edges[j]
                if buf_toggle(out, row * w + e) < 0:
                    r = -E_MEMORY
                    break
                j += 1
            if r < 0:
                break
        if r >= 0:
            r = finish_boundaries(out, total)
    free(edges)
    free(runs.data)
    sweep_free(&sw)
    return r


#: encode of a C-order mask transposes its bounding box densely (and scans
#: the copy) instead of sweeping its boundaries when the box holds fewer than
#: this many bytes per row-major boundary: the sweep costs tens of ns a
#: boundary, the copy and scan a fraction of a ns a byte, so masks of short
#: runs (textures, fragments) take the copy and large smooth ones the sweep.
#: Tests change it with ``_set_dense_transpose`` (0: always sweep).
cdef int64_t dense_transpose_bytes = 128


def _set_dense_transpose(int64_t limit):
    """Tests only: set ``dense_transpose_bytes`` (0: always sweep); returns the old one."""
    return swap_tuning(&dense_transpose_bytes, limit)


cdef int column_boundaries(const uint8_t *data, const int64_t *b, Py_ssize_t nb,
                           int64_t h, int64_t w, I64Buf *out) noexcept nogil:
    """Column-major boundaries of an h x w row-major mask ``data``.

    ``b[:nb]`` are its row-major boundaries (canonical: fg runs are
    ``[b[2k], b[2k + 1])``). Either sweeps them (``transpose_boundaries``) or,
    when the bounding box is small for the number of boundaries, copies the
    box transposed, with a background byte below each column unless the box
    is full height, scans the copy and shifts what it finds into place.
    """
    cdef int64_t y0, y1, x0, x1, row_start, row_end, s, e, bh, bw, stride, p, col, col_end, base
    cdef Py_ssize_t k
    cdef uint8_t *tcopy
    cdef int r
    if nb == 0:
        return 0
    # The bounding box, one division per row a run starts in.
    y0 = b[0] // w
    y1 = (b[nb - 1] - 1) // w
    x0 = w
    x1 = -1
    row_start = 0
    row_end = 0
    for k in range(0, nb, 2):
        s = b[k]
        e = b[k + 1] - 1
        if s >= row_end:
            row_start = (s // w) * w
            row_end = row_start + w
        if e >= row_end:     # the run wraps onto the next row: every column
            x0 = 0
            x1 = w - 1
            break
        if s - row_start < x0:
            x0 = s - row_start
        if e - row_start > x1:
            x1 = e - row_start
    bh = y1 - y0 + 1
    bw = x1 - x0 + 1
    if bh * bw > dense_transpose_bytes * nb:
        return transpose_boundaries(b, nb, w, h, out)
    stride = bh if bh == h else bh + 1
    tcopy = <uint8_t *>malloc(bw * stride)
    if tcopy == NULL:
        return -E_MEMORY
    sarle_transpose_bytes(data + y0 * w + x0, w, bh, bw, tcopy, stride)
    if stride > bh:
        for col in range(bw):
            tcopy[col * stride + bh] = 0
    r = scan_boundaries(tcopy, bw * stride, out)
    free(tcopy)
    if r < 0:
        return r
    # Copy position col * stride + row is pixel (y0 + row, x0 + col).
    base = x0 * h + y0
    if stride == h:
        for k in range(out.size):
            out.data[k] += base
        return 0
    col = 0
    col_end = stride
    for k in range(out.size):
        p = out.data[k]
        while p >= col_end:
            col += 1
            col_end += stride
        out.data[k] = base + col * h + (p - (col_end - stride))
    return 0


cdef Py_ssize_t put_value(unsigned char *out, Py_ssize_t p, int64_t x) noexcept nogil:
    """Append one signed value as little-endian 5-bit groups ('0' + bits)."""
    cdef int64_t c
    cdef bint more = True
    while more:
        c = x & 0x1f
        x >>= 5
        if c & 0x10:
            more = x != -1
        else:
            more = x != 0
        if more:
            c |= 0x20
        out[p] = <unsigned char>(c + 48)
        p += 1
    return p


cdef object string_from_buffer(const int64_t *b, Py_ssize_t nb, int64_t total):
    """The canonical COCO string of a boundary list."""
    cdef Py_ssize_t nruns = nb, i, p = 0
    cdef int64_t prev = 0, run, r1 = 0, r2 = 0, x, edge
    if nb == 0 or b[nb - 1] < total:
        nruns += 1
    cdef unsigned char *buf = <unsigned char *>malloc(nruns * 13 + 1)
    if buf == NULL:
        raise MemoryError()
    try:
        with nogil:
            for i in range(nruns):
                edge = b[i] if i < nb else total
                run = edge - prev
                prev = edge
                x = run - r2 if i > 2 else run
                p = put_value(buf, p, x)
                r2 = r1
                r1 = run
        return PyUnicode_DecodeLatin1(<char *>buf, p, NULL)
    finally:
        free(buf)


def string_from_boundaries(const int64_t[::1] b, int64_t total):
    """Canonical compressed string (``str``) of a boundary array."""
    return string_from_buffer(&b[0] if b.shape[0] else <const int64_t *>NULL,
                              b.shape[0], total)


def runs_from_boundaries(const int64_t[::1] b, int64_t total):
    """Canonical uncompressed runs (int64 array) of a boundary array."""
    cdef Py_ssize_t nb = b.shape[0], i
    cdef Py_ssize_t nruns = nb + (1 if nb == 0 or b[nb - 1] < total else 0)
    out = np.empty(nruns, dtype=np.int64)
    cdef int64_t[::1] runs = out
    cdef int64_t prev = 0
    for i in range(nb):
        runs[i] = b[i] - prev
        prev = b[i]
    if nruns > nb:
        runs[nb] = total - prev
    return out


def encode_flat(const uint8_t[::1] data, int64_t h, int64_t w, bint c_order):
    """Compressed string of one mask given as flat bytes (non-zero = foreground).

    Parameters
    ----------
    data : uint8 memoryview of ``h * w`` bytes
        Row-major if ``c_order`` else column-major.
    """
    cdef I64Buf flat, bounds
    cdef int r
    cdef int64_t total = h * w
    if data.shape[0] != total:
        raise ValueError(f"mask holds {data.shape[0]} bytes, expected {total}")
    flat.data = bounds.data = NULL
    flat.size = flat.cap = bounds.size = bounds.cap = 0
    try:
        with nogil:
            r = scan_boundaries(&data[0] if total else <const uint8_t *>NULL, total, &flat)
            if r >= 0 and c_order and h > 1 and w > 1:
                # Row-major boundaries of M are column-major ones of M.T (w x h).
                r = column_boundaries(&data[0], flat.data, flat.size, h, w, &bounds)
        if r < 0:
            raise MemoryError()
        if c_order and h > 1 and w > 1:
            return string_from_buffer(bounds.data, bounds.size, total)
        return string_from_buffer(flat.data, flat.size, total)
    finally:
        free(flat.data)
        free(bounds.data)


# ---------------------------------------------------------------------------
# Set operations on boundaries: merge and IoU.

cdef enum:
    OP_UNION = 0
    OP_INTERSECT = 1
    OP_MINUS = 2       # a and not b


cdef Py_ssize_t combine2(const int64_t *a, Py_ssize_t na, const int64_t *b,
                         Py_ssize_t nb, int op, int64_t *out) noexcept nogil:
    """Union, intersection or difference of two boundary lists into ``out`` (na + nb)."""
    cdef Py_ssize_t i = 0, j = 0, k = 0
    cdef int va = 0, vb = 0, v = 0, nv
    cdef int64_t pos
    while i < na or j < nb:
        if j >= nb or (i < na and a[i] <= b[j]):
            pos = a[i]
        else:
            pos = b[j]
        if i < na and a[i] == pos:
            va ^= 1
            i += 1
        if j < nb and b[j] == pos:
            vb ^= 1
            j += 1
        if op == OP_UNION:
            nv = va | vb
        elif op == OP_INTERSECT:
            nv = va & vb
        else:
            nv = va & (vb ^ 1)
        if nv != v:
            out[k] = pos
            k += 1
            v = nv
    return k


cdef int merge_fold(I64Buf *cur, Py_ssize_t *off, Py_ssize_t n, bint intersect,
                    I64Buf *spare) noexcept nogil:
    """Merge the n boundary lists ``cur[off[i]:off[i+1]]`` left to right.

    The running result goes to the front of ``spare``, then back; the result
    ends up in ``cur.data[:cur.size]``. A fold (as pycocotools does) beats a
    balanced tree on real images: the union of many masks quickly becomes a
    few large regions with few boundaries, so each step costs about the size
    of the next mask.
    """
    cdef Py_ssize_t i, k, acc_n
    if n <= 1:
        cur.size = off[1] - off[0] if n else 0
        return 0
    # spare holds the running result; it never exceeds the inputs' total.
    spare.size = 0
    if buf_reserve(spare, 2 * cur.size + 1) < 0:
        return -E_MEMORY
    acc_n = off[1] - off[0]
    # memcpy with a NULL pointer is undefined even for 0 bytes, and cur.data is
    # NULL when every part is empty (UBSan found it): copy only what there is.
    if acc_n:
        memcpy(spare.data, cur.data + off[0], acc_n * sizeof(int64_t))
    for i in range(1, n):
        # Ping-pong between the two halves of spare.
        k = combine2(spare.data + (0 if i & 1 else cur.size), acc_n,
                     cur.data + off[i], off[i + 1] - off[i], intersect,
                     spare.data + (cur.size if i & 1 else 0))
        acc_n = k
    if acc_n:
        memcpy(cur.data, spare.data + (cur.size if (n - 1) & 1 else 0), acc_n * sizeof(int64_t))
    cur.size = acc_n
    return 0


def merge_counts(list counts, int64_t h, int64_t w, bint intersect, Py_ssize_t index_base):
    """Union (or intersection) of masks of one size, as a canonical string.

    Parameters
    ----------
    counts : list of str, bytes or int64 ndarray (at least one)
    h, w : int
    intersect : bool
    index_base : int
        Error messages name mask ``index_base + i``; -1: a single mask, no index.
    """
    cdef Py_ssize_t n = len(counts), i, failed = -1
    cdef int r = 0
    cdef list keep = []
    cdef I64Buf cur, spare
    if n == 0:
        raise ValueError("merge needs at least one mask")
    cdef Src *srcs = <Src *>malloc(n * sizeof(Src))
    cdef Py_ssize_t *off = <Py_ssize_t *>malloc((n + 1) * sizeof(Py_ssize_t))
    cur.data = spare.data = NULL
    cur.size = cur.cap = spare.size = spare.cap = 0
    try:
        if srcs == NULL or off == NULL:
            raise MemoryError()
        for i in range(n):
            fill_src(&srcs[i], counts[i], h * w, keep)
        with nogil:
            r = parse_all(srcs, n, &cur, off, &failed)
            if r >= 0:
                r = merge_fold(&cur, off, n, intersect, &spare)
        if failed >= 0:
            _raise_batch_error(srcs, -r, h, w, failed, index_base)
        if r < 0:
            raise MemoryError()
        return string_from_buffer(cur.data, cur.size, h * w)
    finally:
        free(srcs)
        free(off)
        free(cur.data)
        free(spare.data)


def merge_boundaries(list parts, bint intersect):
    """Union (or intersection) of boundary arrays.

    Returns
    -------
    ndarray of int64
        Canonical boundaries of the result.
    """
    cdef Py_ssize_t n = len(parts), i
    cdef const int64_t[::1] part
    cdef I64Buf cur, spare
    cdef int r
    if n == 0:
        raise ValueError("merge needs at least one mask")
    cdef Py_ssize_t *off = <Py_ssize_t *>malloc((n + 1) * sizeof(Py_ssize_t))
    cur.data = spare.data = NULL
    cur.size = cur.cap = spare.size = spare.cap = 0
    try:
        if off == NULL:
            raise MemoryError()
        for i in range(n):
            part = parts[i]
            off[i] = cur.size
            if buf_reserve(&cur, part.shape[0]) < 0:
                raise MemoryError()
            if part.shape[0]:
                memcpy(cur.data + cur.size, &part[0], part.shape[0] * sizeof(int64_t))
            cur.size += part.shape[0]
        off[n] = cur.size
        with nogil:
            r = merge_fold(&cur, off, n, intersect, &spare)
        if r < 0:
            raise MemoryError()
        return buf_to_array(&cur)
    finally:
        free(off)
        free(cur.data)
        free(spare.data)


cdef inline int64_t intersect_area(const int64_t *a, Py_ssize_t na,
                                   const int64_t *b, Py_ssize_t nb,
                                   int64_t lo) noexcept nogil:
    """Pixels in both interval lists, starting from position ``lo``."""
    cdef Py_ssize_t i = 0, j = 0, lo_i, hi_i, mid
    cdef int64_t inter = 0, s, e
    # Skip intervals ending at or before lo (binary search on the ends).
    lo_i = 0
    hi_i = na >> 1
    while lo_i < hi_i:
        mid = (lo_i + hi_i) >> 1
        if a[2 * mid + 1] <= lo:
            lo_i = mid + 1
        else:
            hi_i = mid
    i = 2 * lo_i
    lo_i = 0
    hi_i = nb >> 1
    while lo_i < hi_i:
        mid = (lo_i + hi_i) >> 1
        if b[2 * mid + 1] <= lo:
            lo_i = mid + 1
        else:
            hi_i = mid
    j = 2 * lo_i
    while i < na and j < nb:
        s = a[i] if a[i] > b[j] else b[j]
        e = a[i + 1] if a[i + 1] < b[j + 1] else b[j + 1]
        if e > s:
            inter += e - s
        if a[i + 1] < b[j + 1]:
            i += 2
        else:
            j += 2
    return inter


cdef void interval_stats(const int64_t *b, Py_ssize_t nb, int64_t h,
                         int64_t *area, int64_t *box) noexcept nogil:
    """Area and inclusive extent (x0, y0, x1, y1) of a boundary list."""
    cdef Py_ssize_t i
    cdef int64_t s, e, c0, c1, a = 0
    box[0] = box[1] = 0
    box[2] = box[3] = -1
    for i in range(0, nb, 2):
        s = b[i]
        e = b[i + 1] - 1
        a += e - s + 1
        c0 = s // h
        c1 = e // h
        if i == 0:
            box[0] = c0
            box[1] = h
        box[2] = c1
        if c0 != c1:
            box[1] = 0
            box[3] = h - 1
        else:
            if s - c0 * h < box[1]:
                box[1] = s - c0 * h
            if e - c1 * h > box[3]:
                box[3] = e - c1 * h
    area[0] = a


def iou_rows_into(const int64_t[::1] dt, const int64_t[::1] dt_off,
                  const int64_t[::1] gt, const int64_t[::1] gt_off,
                  int64_t h, const uint8_t[::1] crowd, double[:, ::1] out,
                  Py_ssize_t row_start, Py_ssize_t row_stop):
    """IoU of dt masks ``row_start:row_stop`` with every gt mask (pycocotools semantics).

    Parameters
    ----------
    dt, gt : int64 arrays
        Concatenated boundary arrays; mask i is ``dt[dt_off[i]:dt_off[i+1]]``.
    h : int
        Mask height (all masks share one size).
    crowd : uint8 array, one per gt mask
        Crowd gt: intersection over the dt area instead of the union.
    out : float64 array, shape (len(dt_off) - 1, len(gt_off) - 1), zeroed
        Receives rows ``row_start:row_stop``. Pairs whose boxes do not
        overlap are skipped and keep their 0.
    """
    cdef Py_ssize_t m = dt_off.shape[0] - 1, n = gt_off.shape[0] - 1, i, j
    cdef int64_t *da
    cdef int64_t *ga
    cdef int64_t inter, lo, union_
    cdef const int64_t *dp
    cdef const int64_t *gp
    if not (0 <= row_start <= row_stop <= m) or out.shape[0] != m or out.shape[1] != n \
            or crowd.shape[0] != n:
        raise ValueError("iou_rows_into: rows, output or crowd flags do not match the masks")
    # Per mask: area, then the inclusive extent x0, y0, x1, y1 (x1 < 0: empty).
    da = <int64_t *>malloc((m + n + 1) * 5 * sizeof(int64_t))
    if da == NULL:
        raise MemoryError()
    ga = da + 5 * m
    try:
        with nogil:
            dp = &dt[0] if dt.shape[0] else <const int64_t *>NULL
            gp = &gt[0] if gt.shape[0] else <const int64_t *>NULL
            for i in range(row_start, row_stop):
                interval_stats(dp + dt_off[i], dt_off[i + 1] - dt_off[i], h,
                               &da[5 * i], &da[5 * i + 1])
            for j in range(n):
                interval_stats(gp + gt_off[j], gt_off[j + 1] - gt_off[j], h,
                               &ga[5 * j], &ga[5 * j + 1])
            for i in range(row_start, row_stop):
                for j in range(n):
                    # Boxes that do not overlap (or an empty mask) give 0.
                    if (da[5 * i + 3] < 0 or ga[5 * j + 3] < 0
                            or da[5 * i + 1] > ga[5 * j + 3]
                            or ga[5 * j + 1] > da[5 * i + 3]
                            or da[5 * i + 2] > ga[5 * j + 4]
                            or ga[5 * j + 2] > da[5 * i + 4]):
                        continue
                    lo = da[5 * i + 1] if da[5 * i + 1] > ga[5 * j + 1] else ga[5 * j + 1]
                    inter = intersect_area(dp + dt_off[i], dt_off[i + 1] - dt_off[i],
                                           gp + gt_off[j], gt_off[j + 1] - gt_off[j],
                                           lo * h)
                    if inter == 0:
                        continue
                    if crowd[j]:
                        union_ = da[5 * i]
                    else:
                        union_ = da[5 * i] + ga[5 * j] - inter
                    out[i, j] = <double>inter / <double>union_
    finally:
        free(da)


include "_poly.pxi"
