/* Area and bounding box of a COCO compressed RLE string with AVX2 or AVX-512.
 *
 * Also here, sharing its dispatch: the foreground boundaries of a string (what
 * IoU and merge parse into; sarle_boundaries_simd, near the end) and the scan
 * for the changes between zero and non-zero bytes of a mask being encoded
 * (sarle_scan_changes_simd), and the non-temporal stores with which a decode
 * into a large output writes it (sarle_fill_stream, and the writer
 * sarle_stream at the end). The rest of this comment is about area and bbox.
 *
 * Included by _rle.pyx: stream_stats first calls sarle_stats_simd(), which
 * either returns 1 with the area and the inclusive pixel extent of the mask,
 * or returns 0, "not handled", having written nothing; stream_stats then runs
 * the scalar parser as before. It returns 1 only for strings the scalar parser
 * accepts, and then with the scalar parser's result, so results and error
 * messages are exactly those of the scalar code: every malformed string, and
 * every string outside the cases below, is left to it.
 *
 * Handled: masks of 1 to 2^23 pixels with fewer than 2^19 columns; strings of
 * '0'..'o' only; values of at most 8 characters and at most h*w in magnitude;
 * no empty foreground run (canonical strings, as pycocotools and sarle write
 * them, never have one; the scalar code skips them).
 *
 * The format: a value is little-endian 5-bit groups, one character each
 * ('0' + group; bit 0x20 set on every group but the last; bit 0x10 of the last
 * group is the sign). The counts alternate background and foreground,
 * column-major; from the fourth on, a value is the difference to the count two
 * before.
 *
 * Phase 1, decode into an int32 buffer. The string is cut into blocks of 32
 * (AVX2) or 64 (AVX-512) characters. Every character of a block gets, in a
 * 16-bit lane, the value that would start there if it had at most three
 * characters: its own group, plus the next group if this character has the
 * continuation bit, plus the one after if that one has it too (three
 * overlapping loads, masked by the continuation bits, the last group signed).
 * A value starts after a character without the continuation bit (one bit
 * carries this from block to block). The lanes of the starts are packed to the
 * front, in order (a PSHUFB table for AVX2, VPCOMPRESSW for AVX-512), widened
 * and stored. The rare values of four or more characters are then decoded one
 * at a time and written over their slot. The last few characters, after the
 * last whole block, are decoded one value at a time.
 *
 * Phase 2, statistics, every couple of thousand values and at the end: the
 * buffer is consumed 8 (AVX2) or 16 (AVX-512) background/foreground pairs at a
 * time. The first three counts are stored as count[0], count[1] and
 * count[2] - count[0], so that count[m] = v[m] + count[m - 2] for every m:
 * prefix sums over the even values give the background counts B, over the odd
 * ones the foreground counts F, and a prefix sum of B + F the end E of every
 * foreground run (exclusive, in column-major pixels); the run starts at
 * S = E - F. Its row is S - h * floor(S / h), the quotient from a float
 * multiply by slightly less than 1/h: exact or one too small while S / h < 2^19,
 * which one compare corrects. Then y0 = min row(S) and y1 = max row(S) + F - 1,
 * unless that reaches h (a run that goes on into the next column: every row is
 * covered); x0 = count[0] / h and x1 = (last E - 1) / h; the area is the sum of
 * the F. Running lane maxima check the counts: every B in [0, h*w], every F in
 * [1, h*w], every E at most h*w, and the last E equal to h*w.
 *
 * Why 32-bit lanes suffice: phase 1 values are below 2^15 in magnitude, long
 * ones at most h*w <= 2^23. If every computed count lies in its checked range,
 * each equals the true count (by induction on m: the true count is within 2^23
 * of the one two before, so it cannot wrap into range). The ends E then grow by
 * at most 2^24 per pair, so the first E past h*w is still below 2^31 and fails
 * the check: no sum wraps unnoticed either.
 *
 * The kernel is chosen at run time: sarle_stats_simd_init(), called once when
 * the module is imported, asks the CPU (with the OS's support for the wider
 * registers) through __builtin_cpu_supports and stores the best level. The
 * level is only changed again by _rle._set_stats_simd (tests); it is read with
 * a relaxed atomic load, so a kernel running on another thread at that moment
 * sees one level or the other. Every table is a compile-time constant. Off
 * x86-64, with another compiler than GCC or Clang, or built with
 * -DSARLE_NO_SIMD (SARLE_CFLAGS=-DSARLE_NO_SIMD), only the scalar path exists.
 */
#ifndef SARLE_STATS_SIMD_H
#define SARLE_STATS_SIMD_H

#include <stdint.h>
#include <string.h>

typedef struct {
    int64_t area;
    int64_t x0, y0, x1, y1;   /* inclusive pixel extent; x1 < 0 when empty */
} sarle_stats;

/* Kernel levels. */
enum { SARLE_SIMD_SCALAR = 0, SARLE_SIMD_AVX2 = 1, SARLE_SIMD_AVX512 = 2 };

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SARLE_NO_SIMD)

#include <immintrin.h>

#define SIMD_MAX_TOTAL ((int64_t)1 << 23)   /* pixels: sums fit int32 lanes */
#define SIMD_MAX_COLS ((int64_t)1 << 19)    /* columns: the float quotient is close */
#define SIMD_VALUES 2048                    /* the value buffer (int32): 8 KB of stack */
/* Phase 2 runs when a block leaves more values than this. Before a block
   there are at most SIMD_FLUSH; a block writes at most 64 slots past them, the
   AVX-512 kernel's last 32-character block 32 and the last characters 33
   values: all within the buffer. */
#define SIMD_FLUSH (SIMD_VALUES - 160)

#define SIMD_AVX2_TARGET __attribute__((target("avx2,bmi,bmi2,popcnt")))
#define SIMD_AVX512_TARGET \
    __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,avx2,bmi,bmi2,popcnt")))
#define SIMD_AVX2_INLINE SIMD_AVX2_TARGET __attribute__((always_inline)) static inline
#define SIMD_AVX512_INLINE SIMD_AVX512_TARGET __attribute__((always_inline)) static inline

/* Read the value at s[*pos] as the scalar parser would, in the cases handled
   here: 0, the value in *out and *pos past it; -1 for a character outside
   '0'..'o', the end of the string inside the value, more than 8 characters,
   or a magnitude above total. */
static inline int simd_read_value(const unsigned char *s, int64_t n, int64_t *pos,
                                  int64_t total, int32_t *out) {
    int64_t p = *pos, x;
    uint64_t acc = 0;
    unsigned c;
    int groups = 0;
    for (;;) {
        if (p >= n)
            return -1;
        c = (unsigned)s[p++] - 48u;
        if (c > 63u)
            return -1;
        acc |= (uint64_t)(c & 31u) << (5 * groups);
        groups++;
        if (!(c & 32u)) {
            if (c & 16u)
                acc |= ~(uint64_t)0 << (5 * groups);   /* sign */
            break;
        }
        if (groups == 8)
            return -1;
    }
    x = (int64_t)acc;
    if (x > total || x < -total)
        return -1;
    *pos = p;
    *out = (int32_t)x;
    return 0;
}

/* Slightly less than 1/h: for 0 <= S < 2^24 with S / h < 2^19, the float
   product S * simd_inv_h(h) truncates to floor(S / h) or one less (its
   relative error, 2^-20 plus three roundings of 2^-24, costs less than one
   at S / h < 2^19, and it is never above S / h). */
static inline float simd_inv_h(int64_t h) {
    return (float)(1.0 / (double)h) * (1.0f - 1.0f / (1 << 20));
}

/* The first three counts, written raw, stored as phase 2 wants them:
   v[0] = count[0], v[1] = count[1], v[2] = count[2] - count[0]. Returns how
   many were stored (2 or 3) with *pos after them; 0 for a string of one count,
   h*w (an empty mask: st is filled); -1: not handled. */
static inline int simd_first_counts(const unsigned char *s, int64_t n, int64_t total,
                                    int64_t *pos, int32_t *v, sarle_stats *st) {
    int32_t count2;
    if (simd_read_value(s, n, pos, total, &v[0]) < 0)
        return -1;
    if (*pos == n) {
        if (v[0] != total)
            return -1;
        st->area = 0;
        st->x0 = st->y0 = 0;
        st->x1 = st->y1 = -1;
        return 0;
    }
    if (simd_read_value(s, n, pos, total, &v[1]) < 0)
        return -1;
    if (*pos == n)
        return 2;
    if (simd_read_value(s, n, pos, total, &count2) < 0)
        return -1;
    v[2] = count2 - v[0];
    return 3;
}

/* The values after the last whole block: the rest of a value that began in it
   (when s[p - 1] did not end one), then one value at a time. Returns how many
   were stored in v, or -1. */
static inline int simd_last_values(const unsigned char *s, int64_t n, int64_t p, int ended,
                                   int64_t total, int32_t *v) {
    int k = 0;
    unsigned c;
    while (!ended) {
        if (p >= n)
            return -1;
        c = (unsigned)s[p++] - 48u;
        if (c > 63u)
            return -1;
        ended = !(c & 32u);
    }
    while (p < n) {
        if (simd_read_value(s, n, &p, total, &v[k]) < 0)
            return -1;
        k++;
    }
    return k;
}

/* Lane maxima and minima of phase 2, reduced. */
typedef struct {
    uint32_t bg_max;       /* largest background count (unsigned: a negative one is huge) */
    uint32_t fg_max;       /* largest foreground count - 1 (likewise: 0 is huge) */
    int32_t end_max;       /* largest foreground end */
    int32_t end;           /* the sum of all counts */
    int32_t row_min;       /* smallest first row of a foreground run */
    int32_t row_end_max;   /* largest first row + length of a foreground run */
    int64_t area;
} simd_totals;

/* Check the counts and write the result: 1, or 0 (not handled). */
static inline int simd_finish(const simd_totals *t, int32_t first_bg, int64_t h, int64_t total,
                              sarle_stats *st) {
    if (t->bg_max > (uint64_t)total || t->fg_max > (uint64_t)(total - 1)
            || t->end_max > total || t->end != total)
        return 0;
    st->area = t->area;
    st->x0 = first_bg / h;
    st->x1 = (t->end_max - 1) / h;
    if (t->row_end_max > h) {   /* a run goes on into the next column */
        st->y0 = 0;
        st->y1 = h - 1;
    } else {
        st->y0 = t->row_min;
        st->y1 = t->row_end_max - 1;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* AVX2                                                                      */

/* SIMD_PACK16[m]: the PSHUFB control that moves the 16-bit lanes j of an
   8-lane vector whose bit j is set in m to the front, in order. Lanes past
   popcount(m) are left 0: the caller advances by popcount(m) and overwrites
   them. A row is the byte pairs (2j, 2j + 1) of the set bits of m's low
   nibble (lanes 0..3), then of its high nibble (lanes 4..7). */
#define PK_LO_0
#define PK_LO_1 0, 1,
#define PK_LO_2 2, 3,
#define PK_LO_3 0, 1, 2, 3,
#define PK_LO_4 4, 5,
#define PK_LO_5 0, 1, 4, 5,
#define PK_LO_6 2, 3, 4, 5,
#define PK_LO_7 0, 1, 2, 3, 4, 5,
#define PK_LO_8 6, 7,
#define PK_LO_9 0, 1, 6, 7,
#define PK_LO_A 2, 3, 6, 7,
#define PK_LO_B 0, 1, 2, 3, 6, 7,
#define PK_LO_C 4, 5, 6, 7,
#define PK_LO_D 0, 1, 4, 5, 6, 7,
#define PK_LO_E 2, 3, 4, 5, 6, 7,
#define PK_LO_F 0, 1, 2, 3, 4, 5, 6, 7,
#define PK_HI_0
#define PK_HI_1 8, 9,
#define PK_HI_2 10, 11,
#define PK_HI_3 8, 9, 10, 11,
#define PK_HI_4 12, 13,
#define PK_HI_5 8, 9, 12, 13,
#define PK_HI_6 10, 11, 12, 13,
#define PK_HI_7 8, 9, 10, 11, 12, 13,
#define PK_HI_8 14, 15,
#define PK_HI_9 8, 9, 14, 15,
#define PK_HI_A 10, 11, 14, 15,
#define PK_HI_B 8, 9, 10, 11, 14, 15,
#define PK_HI_C 12, 13, 14, 15,
#define PK_HI_D 8, 9, 12, 13, 14, 15,
#define PK_HI_E 10, 11, 12, 13, 14, 15,
#define PK_HI_F 8, 9, 10, 11, 12, 13, 14, 15,
#define PK_ROW(hi, lo) { PK_LO_##lo PK_HI_##hi }
#define PK_ROWS(hi) PK_ROW(hi, 0), PK_ROW(hi, 1), PK_ROW(hi, 2), PK_ROW(hi, 3), \
    PK_ROW(hi, 4), PK_ROW(hi, 5), PK_ROW(hi, 6), PK_ROW(hi, 7), PK_ROW(hi, 8), \
    PK_ROW(hi, 9), PK_ROW(hi, A), PK_ROW(hi, B), PK_ROW(hi, C), PK_ROW(hi, D), \
    PK_ROW(hi, E), PK_ROW(hi, F)
static const uint8_t SIMD_PACK16[256][16] = {
    {0} /* PK_ROW(0, 0) would be {}, not C99 */, PK_ROW(0, 1), PK_ROW(0, 2), PK_ROW(0, 3),
    PK_ROW(0, 4), PK_ROW(0, 5), PK_ROW(0, 6), PK_ROW(0, 7), PK_ROW(0, 8), PK_ROW(0, 9),
    PK_ROW(0, A), PK_ROW(0, B), PK_ROW(0, C), PK_ROW(0, D), PK_ROW(0, E), PK_ROW(0, F),
    PK_ROWS(1), PK_ROWS(2), PK_ROWS(3), PK_ROWS(4), PK_ROWS(5), PK_ROWS(6), PK_ROWS(7),
    PK_ROWS(8), PK_ROWS(9), PK_ROWS(A), PK_ROWS(B), PK_ROWS(C), PK_ROWS(D), PK_ROWS(E),
    PK_ROWS(F)
};

/* Patch the values of four or more characters among the starts of the block
   at s + p: the lanes in `longs`, at out[rank among the starts]. */
static inline int simd_patch_long(const unsigned char *s, int64_t n, int64_t p, int64_t total,
                                  uint64_t starts, uint64_t longs, int32_t *out) {
    while (longs) {
        int i = __builtin_ctzll(longs);
        int64_t q = p + i;
        longs &= longs - 1;
        if (simd_read_value(s, n, &q, total,
                            &out[__builtin_popcountll(starts & ((UINT64_C(1) << i) - 1))]) < 0)
            return -1;
    }
    return 0;
}

/* Phase 1, AVX2: store the values that start in s[p .. p+32) at out; returns
   how many (up to 8 more slots are overwritten), or -1: a character outside
   '0'..'o' in the block, or a long value simd_read_value rejects. *ended:
   whether s[p - 1] ended a value, then whether s[p + 31] does. Reads
   s[p .. p+34). */
SIMD_AVX2_INLINE int simd_avx2_decode(const unsigned char *s, int64_t n, int64_t p,
                                      int64_t total, uint32_t *ended, int32_t *out) {
    /* By the high nibble of a character: 3..6 is '0'..'o'; 5 and 6 have the
       continuation bit; adding the offset gives the 5-bit group, signed for a
       last group ('@'..'O' are -16..-1). */
    const __m256i bad_nibble = _mm256_setr_epi8(
        -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i more_nibble = _mm256_setr_epi8(
        0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i group_offset = _mm256_setr_epi8(
        0, 0, 0, -48, -80, -80, -80, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, -48, -80, -80, -80, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i low_nibble = _mm256_set1_epi8(0x0F);
    const __m256i weights = _mm256_set1_epi16(0x2001);   /* bytes 1, 32 */
    const __m256i zero = _mm256_setzero_si256();
    /* Character i of c0, c1, c2 is s[p + i], s[p + i + 1], s[p + i + 2]. */
    __m256i c0 = _mm256_loadu_si256((const __m256i *)(s + p));
    __m256i c1 = _mm256_loadu_si256((const __m256i *)(s + p + 1));
    __m256i c2 = _mm256_loadu_si256((const __m256i *)(s + p + 2));
    __m256i n0 = _mm256_and_si256(_mm256_srli_epi16(c0, 4), low_nibble);
    __m256i n1 = _mm256_and_si256(_mm256_srli_epi16(c1, 4), low_nibble);
    __m256i n2 = _mm256_and_si256(_mm256_srli_epi16(c2, 4), low_nibble);
    __m256i more0 = _mm256_shuffle_epi8(more_nibble, n0);
    __m256i more1 = _mm256_shuffle_epi8(more_nibble, n1);
    /* Groups: the second only after a continuation, the third after two. */
    __m256i g0 = _mm256_add_epi8(c0, _mm256_shuffle_epi8(group_offset, n0));
    __m256i g1 = _mm256_and_si256(_mm256_add_epi8(c1, _mm256_shuffle_epi8(group_offset, n1)), more0);
    __m256i g2 = _mm256_and_si256(_mm256_add_epi8(c2, _mm256_shuffle_epi8(group_offset, n2)),
                                  _mm256_and_si256(more0, more1));
    /* g0 + 32 g1 + 1024 g2 in 16-bit lanes: positions 0-7 and 16-23 in lo,
       8-15 and 24-31 in hi (the unpacks work within 128-bit halves). */
    __m256i lo = _mm256_add_epi16(_mm256_maddubs_epi16(weights, _mm256_unpacklo_epi8(g0, g1)),
                                  _mm256_slli_epi16(_mm256_unpacklo_epi8(zero, g2), 2));
    __m256i hi = _mm256_add_epi16(_mm256_maddubs_epi16(weights, _mm256_unpackhi_epi8(g0, g1)),
                                  _mm256_slli_epi16(_mm256_unpackhi_epi8(zero, g2), 2));
    uint32_t cont0 = (uint32_t)_mm256_movemask_epi8(more0);
    uint32_t starts = (~cont0 << 1) | *ended;
    uint32_t longs;
    int k = 0;
    if (_mm256_movemask_epi8(_mm256_shuffle_epi8(bad_nibble, n0)))
        return -1;
    *ended = ~cont0 >> 31;
#define SIMD_PACK8(half, bits) do { \
        __m128i packed = _mm_shuffle_epi8((half), \
            _mm_loadu_si128((const __m128i *)SIMD_PACK16[(bits)])); \
        _mm256_storeu_si256((__m256i *)(out + k), _mm256_cvtepi16_epi32(packed)); \
        k += _mm_popcnt_u32(bits); \
    } while (0)
    SIMD_PACK8(_mm256_castsi256_si128(lo), starts & 0xFF);
    SIMD_PACK8(_mm256_castsi256_si128(hi), (starts >> 8) & 0xFF);
    SIMD_PACK8(_mm256_extracti128_si256(lo, 1), (starts >> 16) & 0xFF);
    SIMD_PACK8(_mm256_extracti128_si256(hi, 1), starts >> 24);
#undef SIMD_PACK8
    /* Starts followed by three continuations: values of four or more characters. */
    longs = starts & cont0 & (uint32_t)_mm256_movemask_epi8(more1);
    if (longs) {
        longs &= (uint32_t)_mm256_movemask_epi8(_mm256_shuffle_epi8(more_nibble, n2));
        if (simd_patch_long(s, n, p, total, starts, longs, out) < 0)
            return -1;
    }
    return k;
}

/* Phase 2 state, AVX2: running sums broadcast to every lane, and lane maxima
   and minima. */
typedef struct {
    __m256i last_fg;     /* the last foreground count */
    __m256i last_pair;   /* the last background + foreground count */
    __m256i end;         /* the end of the last foreground run */
    __m256i bg_max, fg_max, end_max, row_min, row_end_max, area;   /* see simd_totals */
} simd_avx2_acc;

SIMD_AVX2_INLINE __m256i simd_avx2_prefix(__m256i x) {
    __m256i low_total;
    x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
    x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
    low_total = _mm256_shuffle_epi32(x, 0xFF);
    return _mm256_add_epi32(x, _mm256_permute2x128_si256(low_total, low_total, 0x08));
}

SIMD_AVX2_INLINE __m256i simd_avx2_last(__m256i x) {
    return _mm256_permutevar8x32_epi32(x, _mm256_set1_epi32(7));
}

/* Phase 2, AVX2: the pairs of v[0 .. count), count 1..16 (v[2j] background,
   v[2j + 1] foreground); below 16, zeros follow (the end of the string). */
SIMD_AVX2_INLINE void simd_avx2_pairs(simd_avx2_acc *a, const int32_t *v, int count,
                                      __m256i h, __m256 inv_h) {
    const __m256i even_odd = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256i lo = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)v), even_odd);
    __m256i hi = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(v + 8)), even_odd);
    __m256i vb = _mm256_permute2x128_si256(lo, hi, 0x20);   /* background values */
    __m256i vf = _mm256_permute2x128_si256(lo, hi, 0x31);   /* foreground values */
    __m256i fg_in = _mm256_setzero_si256();
    __m256i B, F, F_1, T, E, S, row, fg_end;
    if (count == 16) {
        F = _mm256_add_epi32(simd_avx2_prefix(vf), a->last_fg);
        T = _mm256_add_epi32(simd_avx2_prefix(_mm256_add_epi32(vb, vf)), a->last_pair);
        B = _mm256_sub_epi32(T, F);
    } else {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i bg_in = _mm256_cmpgt_epi32(_mm256_set1_epi32((count + 1) / 2), lane);
        fg_in = _mm256_cmpgt_epi32(_mm256_set1_epi32(count / 2), lane);
        F = _mm256_and_si256(_mm256_add_epi32(simd_avx2_prefix(vf), a->last_fg), fg_in);
        B = _mm256_and_si256(_mm256_add_epi32(simd_avx2_prefix(vb),
                                              _mm256_sub_epi32(a->last_pair, a->last_fg)), bg_in);
        T = _mm256_add_epi32(B, F);
    }
    E = _mm256_add_epi32(simd_avx2_prefix(T), a->end);
    a->last_fg = simd_avx2_last(F);
    a->last_pair = simd_avx2_last(T);
    a->end = simd_avx2_last(E);
    /* Row of the run start S: S - h * q, q = floor(S / h) or one less; then
       one correction. */
    S = _mm256_sub_epi32(E, F);
    row = _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(S), inv_h));
    row = _mm256_sub_epi32(S, _mm256_mullo_epi32(row, h));
    row = _mm256_sub_epi32(row, _mm256_and_si256(
        _mm256_cmpgt_epi32(row, _mm256_sub_epi32(h, _mm256_set1_epi32(1))), h));
    fg_end = _mm256_add_epi32(row, F);
    F_1 = _mm256_sub_epi32(F, _mm256_set1_epi32(1));
    if (count < 16) {   /* lanes past the end: no foreground run */
        row = _mm256_blendv_epi8(_mm256_set1_epi32(0x7FFFFFFF), row, fg_in);
        fg_end = _mm256_and_si256(fg_end, fg_in);
        E = _mm256_and_si256(E, fg_in);
        F_1 = _mm256_and_si256(F_1, fg_in);
    }
    a->bg_max = _mm256_max_epu32(a->bg_max, B);
    a->fg_max = _mm256_max_epu32(a->fg_max, F_1);
    a->end_max = _mm256_max_epi32(a->end_max, E);
    a->row_min = _mm256_min_epi32(a->row_min, row);
    a->row_end_max = _mm256_max_epi32(a->row_end_max, fg_end);
    a->area = _mm256_add_epi32(a->area, F);
}

SIMD_AVX2_INLINE void simd_avx2_flush(simd_avx2_acc *a, int32_t *v, int *k, __m256i h,
                                      __m256 inv_h) {
    int i, whole = *k & ~15;
    for (i = 0; i < whole; i += 16)
        simd_avx2_pairs(a, v + i, 16, h, inv_h);
    memmove(v, v + whole, (size_t)(*k - whole) * sizeof(int32_t));
    *k -= whole;
}

SIMD_AVX2_INLINE int32_t simd_avx2_hmax(__m256i x) {
    __m128i m = _mm_max_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0x4E));
    return _mm_cvtsi128_si32(_mm_max_epi32(m, _mm_shuffle_epi32(m, 0xB1)));
}

SIMD_AVX2_INLINE int32_t simd_avx2_hmin(__m256i x) {
    __m128i m = _mm_min_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    m = _mm_min_epi32(m, _mm_shuffle_epi32(m, 0x4E));
    return _mm_cvtsi128_si32(_mm_min_epi32(m, _mm_shuffle_epi32(m, 0xB1)));
}

SIMD_AVX2_INLINE uint32_t simd_avx2_hmax_u(__m256i x) {
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4E));
    return (uint32_t)_mm_cvtsi128_si32(_mm_max_epu32(m, _mm_shuffle_epi32(m, 0xB1)));
}

SIMD_AVX2_TARGET static int simd_stats_avx2(const unsigned char *s, int64_t n, int64_t h,
                                            int64_t total, sarle_stats *st) {
    int32_t v[SIMD_VALUES];
    int64_t p = 0;
    int k, got;
    int32_t first_bg;
    uint32_t ended = 1;
    const __m256i hv = _mm256_set1_epi32((int32_t)h);
    const __m256 inv_h = _mm256_set1_ps(simd_inv_h(h));
    simd_avx2_acc a;
    simd_totals t;
    k = simd_first_counts(s, n, total, &p, v, st);
    if (k <= 0)
        return k == 0;
    first_bg = v[0];
    a.last_fg = a.last_pair = a.end = a.bg_max = a.fg_max = a.area = _mm256_setzero_si256();
    a.end_max = a.row_end_max = _mm256_set1_epi32(-1);
    a.row_min = _mm256_set1_epi32(0x7FFFFFFF);
    for (; p + 34 <= n; p += 32) {
        got = simd_avx2_decode(s, n, p, total, &ended, v + k);
        if (got < 0)
            return 0;
        k += got;
        if (k > SIMD_FLUSH)
            simd_avx2_flush(&a, v, &k, hv, inv_h);
    }
    got = simd_last_values(s, n, p, (int)ended, total, v + k);
    if (got < 0)
        return 0;
    k += got;
    simd_avx2_flush(&a, v, &k, hv, inv_h);
    if (k) {
        memset(v + k, 0, (size_t)(16 - k) * sizeof(int32_t));
        simd_avx2_pairs(&a, v, k, hv, inv_h);
    }
    t.bg_max = simd_avx2_hmax_u(a.bg_max);
    t.fg_max = simd_avx2_hmax_u(a.fg_max);
    t.end_max = simd_avx2_hmax(a.end_max);
    t.end = _mm256_cvtsi256_si32(a.end);
    t.row_min = simd_avx2_hmin(a.row_min);
    t.row_end_max = simd_avx2_hmax(a.row_end_max);
    {
        int32_t lanes[8];
        int i;
        _mm256_storeu_si256((__m256i *)lanes, a.area);
        t.area = 0;
        for (i = 0; i < 8; i++)
            t.area += lanes[i];
    }
    return simd_finish(&t, first_bg, h, total, st);
}

/* ------------------------------------------------------------------------ */
/* AVX-512 (F, BW, VBMI, VBMI2)                                              */

/* The 5-bit group of a character c in '0'..'o', at index c & 63: '@'..'o'
   (indices 0..47) are -16..31, '0'..'?' (48..63) are 0..15. */
static const int8_t SIMD_GROUP_OF[64] = {
    -16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
};

/* Phase 1, AVX-512: as simd_avx2_decode, for s[p .. p+64) (reads s[p .. p+66);
   up to 32 slots past the values are overwritten). */
SIMD_AVX512_INLINE int simd_avx512_decode(const unsigned char *s, int64_t n, int64_t p,
                                          int64_t total, uint64_t *ended, int32_t *out) {
    const __m512i group_of = _mm512_loadu_si512(SIMD_GROUP_OF);
    const __m512i k48 = _mm512_set1_epi8(48), k63 = _mm512_set1_epi8(63), k79 = _mm512_set1_epi8(79);
    __m512i c0 = _mm512_loadu_si512(s + p);
    __m512i c1 = _mm512_loadu_si512(s + p + 1);
    __m512i c2 = _mm512_loadu_si512(s + p + 2);
    __mmask64 bad = _mm512_cmpgt_epu8_mask(_mm512_sub_epi8(c0, k48), k63);
    __mmask64 more0 = _mm512_cmpgt_epu8_mask(c0, k79);   /* 'P'..: continuation */
    __mmask64 more1 = _mm512_cmpgt_epu8_mask(c1, k79);
    __m512i g0 = _mm512_permutexvar_epi8(c0, group_of);
    __m512i g1 = _mm512_maskz_permutexvar_epi8(more0, c1, group_of);
    __m512i g2 = _mm512_maskz_permutexvar_epi8(more0 & more1, c2, group_of);
    __m512i lo, hi;
    uint64_t starts, longs;
    uint32_t starts_lo, starts_hi;
    int k;
    if (bad)
        return -1;
    /* g0 + 32 g1 + 1024 g2 in 16-bit lanes: positions 0-31 in lo, 32-63 in hi. */
#define SIMD_WIDEN(half) _mm512_add_epi16( \
        _mm512_cvtepi8_epi16(half(g0)), \
        _mm512_add_epi16(_mm512_slli_epi16(_mm512_cvtepi8_epi16(half(g1)), 5), \
                         _mm512_slli_epi16(_mm512_cvtepi8_epi16(half(g2)), 10)))
#define SIMD_LOW(x) _mm512_castsi512_si256(x)
#define SIMD_HIGH(x) _mm512_extracti64x4_epi64(x, 1)
    lo = SIMD_WIDEN(SIMD_LOW);
    hi = SIMD_WIDEN(SIMD_HIGH);
#undef SIMD_WIDEN
    starts = ((uint64_t)~more0 << 1) | *ended;
    *ended = (uint64_t)~more0 >> 63;
    starts_lo = (uint32_t)starts;
    starts_hi = (uint32_t)(starts >> 32);
    lo = _mm512_maskz_compress_epi16(starts_lo, lo);
    hi = _mm512_maskz_compress_epi16(starts_hi, hi);
    _mm512_storeu_si512(out, _mm512_cvtepi16_epi32(SIMD_LOW(lo)));
    _mm512_storeu_si512(out + 16, _mm512_cvtepi16_epi32(SIMD_HIGH(lo)));
    k = _mm_popcnt_u32(starts_lo);
    _mm512_storeu_si512(out + k, _mm512_cvtepi16_epi32(SIMD_LOW(hi)));
    _mm512_storeu_si512(out + k + 16, _mm512_cvtepi16_epi32(SIMD_HIGH(hi)));
    k += _mm_popcnt_u32(starts_hi);
#undef SIMD_LOW
#undef SIMD_HIGH
    longs = starts & more0 & more1;
    if (longs) {
        longs &= _mm512_cmpgt_epu8_mask(c2, k79);
        if (simd_patch_long(s, n, p, total, starts, longs, out) < 0)
            return -1;
    }
    return k;
}

typedef struct {
    __m512i last_fg, last_pair, end;                                 /* as simd_avx2_acc */
    __m512i bg_max, fg_max, end_max, row_min, row_end_max, area;
} simd_avx512_acc;

SIMD_AVX512_INLINE __m512i simd_avx512_prefix(__m512i x) {
    const __m512i zero = _mm512_setzero_si512();
    x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, zero, 15));
    x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, zero, 14));
    x = _mm512_add_epi32(x, _mm512_alignr_epi32(x, zero, 12));
    return _mm512_add_epi32(x, _mm512_alignr_epi32(x, zero, 8));
}

SIMD_AVX512_INLINE __m512i simd_avx512_last(__m512i x) {
    return _mm512_permutexvar_epi32(_mm512_set1_epi32(15), x);
}

/* Phase 2, AVX-512: as simd_avx2_pairs, 16 pairs (count 1..32). */
SIMD_AVX512_INLINE void simd_avx512_pairs(simd_avx512_acc *a, const int32_t *v, int count,
                                          __m512i h, __m512 inv_h) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                            16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15,
                                           17, 19, 21, 23, 25, 27, 29, 31);
    __m512i lo = _mm512_loadu_si512(v), hi = _mm512_loadu_si512(v + 16);
    __m512i vb = _mm512_permutex2var_epi32(lo, evens, hi);   /* background values */
    __m512i vf = _mm512_permutex2var_epi32(lo, odds, hi);    /* foreground values */
    __mmask16 fg_in = 0xFFFF;
    __m512i B, F, T, E, S, row;
    if (count == 32) {
        F = _mm512_add_epi32(simd_avx512_prefix(vf), a->last_fg);
        T = _mm512_add_epi32(simd_avx512_prefix(_mm512_add_epi32(vb, vf)), a->last_pair);
        B = _mm512_sub_epi32(T, F);
    } else {
        __mmask16 bg_in = (__mmask16)((1u << ((count + 1) / 2)) - 1);
        fg_in = (__mmask16)((1u << (count / 2)) - 1);
        F = _mm512_maskz_add_epi32(fg_in, simd_avx512_prefix(vf), a->last_fg);
        B = _mm512_maskz_add_epi32(bg_in, simd_avx512_prefix(vb),
                                   _mm512_sub_epi32(a->last_pair, a->last_fg));
        T = _mm512_add_epi32(B, F);
    }
    E = _mm512_add_epi32(simd_avx512_prefix(T), a->end);
    a->last_fg = simd_avx512_last(F);
    a->last_pair = simd_avx512_last(T);
    a->end = simd_avx512_last(E);
    S = _mm512_sub_epi32(E, F);
    row = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(S), inv_h));
    row = _mm512_sub_epi32(S, _mm512_mullo_epi32(row, h));
    row = _mm512_mask_sub_epi32(row, _mm512_cmpge_epi32_mask(row, h), row, h);
    a->bg_max = _mm512_max_epu32(a->bg_max, B);
    if (count == 32) {
        a->fg_max = _mm512_max_epu32(a->fg_max, _mm512_sub_epi32(F, _mm512_set1_epi32(1)));
        a->end_max = _mm512_max_epi32(a->end_max, E);
        a->row_min = _mm512_min_epi32(a->row_min, row);
        a->row_end_max = _mm512_max_epi32(a->row_end_max, _mm512_add_epi32(row, F));
    } else {   /* lanes past the end: no foreground run */
        a->fg_max = _mm512_mask_max_epu32(a->fg_max, fg_in, a->fg_max,
                                          _mm512_sub_epi32(F, _mm512_set1_epi32(1)));
        a->end_max = _mm512_mask_max_epi32(a->end_max, fg_in, a->end_max, E);
        a->row_min = _mm512_mask_min_epi32(a->row_min, fg_in, a->row_min, row);
        a->row_end_max = _mm512_mask_max_epi32(a->row_end_max, fg_in, a->row_end_max,
                                               _mm512_add_epi32(row, F));
    }
    a->area = _mm512_add_epi32(a->area, F);
}

SIMD_AVX512_INLINE void simd_avx512_flush(simd_avx512_acc *a, int32_t *v, int *k, __m512i h,
                                          __m512 inv_h) {
    int i, whole = *k & ~31;
    for (i = 0; i < whole; i += 32)
        simd_avx512_pairs(a, v + i, 32, h, inv_h);
    memmove(v, v + whole, (size_t)(*k - whole) * sizeof(int32_t));
    *k -= whole;
}

SIMD_AVX512_TARGET static int simd_stats_avx512(const unsigned char *s, int64_t n, int64_t h,
                                                int64_t total, sarle_stats *st) {
    int32_t v[SIMD_VALUES];
    int64_t p = 0;
    int k, got;
    int32_t first_bg;
    uint64_t ended = 1;
    uint32_t ended32;
    const __m512i hv = _mm512_set1_epi32((int32_t)h);
    const __m512 inv_h = _mm512_set1_ps(simd_inv_h(h));
    simd_avx512_acc a;
    simd_totals t;
    k = simd_first_counts(s, n, total, &p, v, st);
    if (k <= 0)
        return k == 0;
    first_bg = v[0];
    a.last_fg = a.last_pair = a.end = a.bg_max = a.fg_max = a.area = _mm512_setzero_si512();
    a.end_max = a.row_end_max = _mm512_set1_epi32(-1);
    a.row_min = _mm512_set1_epi32(0x7FFFFFFF);
    for (; p + 66 <= n; p += 64) {
        got = simd_avx512_decode(s, n, p, total, &ended, v + k);
        if (got < 0)
            return 0;
        k += got;
        if (k > SIMD_FLUSH)
            simd_avx512_flush(&a, v, &k, hv, inv_h);
    }
    ended32 = (uint32_t)ended;
    if (p + 34 <= n) {   /* one 32-character block left */
        got = simd_avx2_decode(s, n, p, total, &ended32, v + k);
        if (got < 0)
            return 0;
        k += got;
        p += 32;
    }
    got = simd_last_values(s, n, p, (int)ended32, total, v + k);
    if (got < 0)
        return 0;
    k += got;
    simd_avx512_flush(&a, v, &k, hv, inv_h);
    if (k) {
        memset(v + k, 0, (size_t)(32 - k) * sizeof(int32_t));
        simd_avx512_pairs(&a, v, k, hv, inv_h);
    }
    t.bg_max = _mm512_reduce_max_epu32(a.bg_max);
    t.fg_max = _mm512_reduce_max_epu32(a.fg_max);
    t.end_max = _mm512_reduce_max_epi32(a.end_max);
    t.end = _mm_cvtsi128_si32(_mm512_castsi512_si128(a.end));
    t.row_min = _mm512_reduce_min_epi32(a.row_min);
    t.row_end_max = _mm512_reduce_max_epi32(a.row_end_max);
    {
        /* Summed in 64 bits, as in the AVX2 path: _mm512_reduce_add_epi32 adds
           in int, whose overflow is undefined (UBSan caught it). */
        int32_t lanes[16];
        int i;
        _mm512_storeu_si512((void *)lanes, a.area);
        t.area = 0;
        for (i = 0; i < 16; i++)
            t.area += lanes[i];
    }
    return simd_finish(&t, first_bg, h, total, st);
}

/* ------------------------------------------------------------------------ */
/* Boundaries, AVX2 (run at either SIMD level)                               */

/* The foreground runs of a canonical string as boundaries, the form IoU and
   merge work on: start S and end E (exclusive, column-major pixels) of every
   foreground run, in order, as int64. Phase 1 is simd_avx2_decode; phase 2
   takes the same prefix sums as simd_avx2_pairs and stores S and E instead of
   reducing them. Handled only where the scalar parser's answer is exactly
   this list: every foreground count at least 1 and every background count but
   the first too (so no two boundaries are equal and none cancel), the counts
   summing to h*w. The checks are simd_finish's plus the zero-background one. */
typedef struct {
    __m256i last_fg, last_pair, end;   /* as in simd_avx2_acc */
    __m256i bg_max, fg_max, end_max;   /* as in simd_avx2_acc */
    __m256i bg_zero;                   /* a background count of 0 after the first */
} simd_avx2_bacc;

/* Phase 2: the pairs of v[0 .. count), count 1..16; below 16, zeros follow.
   Writes 16 int64 at out (2 per pair; past the pairs of a short block, values
   that the caller ignores). `first`: v[0] is the string's first count. */
SIMD_AVX2_INLINE void simd_avx2_bound_pairs(simd_avx2_bacc *a, const int32_t *v, int count,
                                            int first, int64_t *out) {
    const __m256i even_odd = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i lo = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)v), even_odd);
    __m256i hi = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(v + 8)), even_odd);
    __m256i vb = _mm256_permute2x128_si256(lo, hi, 0x20);
    __m256i vf = _mm256_permute2x128_si256(lo, hi, 0x31);
    __m256i bg_in = _mm256_cmpgt_epi32(_mm256_set1_epi32((count + 1) / 2), lane);
    __m256i fg_in = _mm256_cmpgt_epi32(_mm256_set1_epi32(count / 2), lane);
    __m256i B, F, T, E, S, zero_bg;
    F = _mm256_and_si256(_mm256_add_epi32(simd_avx2_prefix(vf), a->last_fg), fg_in);
    B = _mm256_and_si256(_mm256_add_epi32(simd_avx2_prefix(vb),
                                          _mm256_sub_epi32(a->last_pair, a->last_fg)), bg_in);
    T = _mm256_add_epi32(B, F);
    E = _mm256_add_epi32(simd_avx2_prefix(T), a->end);
    S = _mm256_sub_epi32(E, F);
    a->last_fg = simd_avx2_last(F);
    a->last_pair = simd_avx2_last(T);
    a->end = simd_avx2_last(E);
    zero_bg = _mm256_and_si256(_mm256_cmpeq_epi32(B, _mm256_setzero_si256()), bg_in);
    if (first)   /* the first background count may be 0 */
        zero_bg = _mm256_andnot_si256(_mm256_cmpeq_epi32(lane, _mm256_setzero_si256()), zero_bg);
    a->bg_zero = _mm256_or_si256(a->bg_zero, zero_bg);
    a->bg_max = _mm256_max_epu32(a->bg_max, B);
    a->fg_max = _mm256_max_epu32(a->fg_max,
                                 _mm256_and_si256(_mm256_sub_epi32(F, _mm256_set1_epi32(1)), fg_in));
    a->end_max = _mm256_max_epi32(a->end_max, _mm256_and_si256(E, fg_in));
    {
        /* S0 E0 S1 E1 | S4 E4 S5 E5 and S2 E2 S3 E3 | S6 E6 S7 E7, widened. */
        __m256i se_lo = _mm256_unpacklo_epi32(S, E);
        __m256i se_hi = _mm256_unpackhi_epi32(S, E);
        _mm256_storeu_si256((__m256i *)out, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(se_lo)));
        _mm256_storeu_si256((__m256i *)(out + 4), _mm256_cvtepi32_epi64(_mm256_castsi256_si128(se_hi)));
        _mm256_storeu_si256((__m256i *)(out + 8), _mm256_cvtepi32_epi64(_mm256_extracti128_si256(se_lo, 1)));
        _mm256_storeu_si256((__m256i *)(out + 12), _mm256_cvtepi32_epi64(_mm256_extracti128_si256(se_hi, 1)));
    }
}

/* Phase 2 over the whole blocks of 16 values in v[0 .. *k); the rest moves to
   the front. Returns how many int64 were written at out, or -1 when that would
   pass `room` (nothing written then). */
SIMD_AVX2_INLINE int64_t simd_avx2_bound_flush(simd_avx2_bacc *a, int32_t *v, int *k,
                                               int *first, int64_t *out, int64_t room) {
    int i, whole = *k & ~15;
    if (whole > room)
        return -1;
    for (i = 0; i < whole; i += 16) {
        simd_avx2_bound_pairs(a, v + i, 16, *first, out + i);
        *first = 0;
    }
    memmove(v, v + whole, (size_t)(*k - whole) * sizeof(int32_t));
    *k -= whole;
    return whole;
}

/* Boundaries of s[0:n] into out, which has room for cap int64 (a valid string
   needs at most its number of values + 16, and has at most total + 1 values).
   Returns how many, or -1: not handled (out may have been written). */
SIMD_AVX2_TARGET static int64_t simd_boundaries_avx2(const unsigned char *s, int64_t n,
                                                     int64_t total, int64_t *out, int64_t cap) {
    int32_t v[SIMD_VALUES];
    int64_t p = 0, written = 0, values, got_out;
    int k, got, first = 1;
    uint32_t ended = 1;
    sarle_stats empty;
    simd_avx2_bacc a;
    k = simd_first_counts(s, n, total, &p, v, &empty);
    if (k < 0)
        return -1;
    if (k == 0)
        return 0;   /* one count, h*w: an empty mask */
    a.last_fg = a.last_pair = a.end = a.bg_max = a.fg_max = a.bg_zero = _mm256_setzero_si256();
    a.end_max = _mm256_set1_epi32(-1);
    for (; p + 34 <= n; p += 32) {
        got = simd_avx2_decode(s, n, p, total, &ended, v + k);
        if (got < 0)
            return -1;
        k += got;
        if (k > SIMD_FLUSH) {
            got_out = simd_avx2_bound_flush(&a, v, &k, &first, out + written, cap - written);
            if (got_out < 0)
                return -1;
            written += got_out;
        }
    }
    got = simd_last_values(s, n, p, (int)ended, total, v + k);
    if (got < 0)
        return -1;
    k += got;
    got_out = simd_avx2_bound_flush(&a, v, &k, &first, out + written, cap - written);
    if (got_out < 0 || written + got_out + 16 > cap)
        return -1;
    written += got_out;
    values = written + k;
    if (k) {
        memset(v + k, 0, (size_t)(16 - k) * sizeof(int32_t));
        simd_avx2_bound_pairs(&a, v, k, first, out + written);
    }
    if (simd_avx2_hmax_u(a.bg_max) > (uint64_t)total
            || simd_avx2_hmax_u(a.fg_max) > (uint64_t)(total - 1)
            || simd_avx2_hmax(a.end_max) > total || _mm256_cvtsi256_si32(a.end) != total
            || !_mm256_testz_si256(a.bg_zero, a.bg_zero))
        return -1;
    return values & ~(int64_t)1;   /* a trailing background count ends no run */
}

/* ------------------------------------------------------------------------ */
/* Encoding: the changes between zero and non-zero bytes                     */

/* The changes of p[*pos:n] into out[0:cap): every j where (p[j] != 0) differs
   from (p[j - 1] != 0), with *prev the value (0 or 1) of the byte before *pos.
   First 256 bytes at a time while they are all of the current value (all zero
   after background, all non-zero after foreground: no change; most of a mask),
   then one 64-byte block: one bit per non-zero byte, m ^ (m << 1 | carry) has
   a bit at every change, and its set bits are read off with tzcnt. Goes on while a
   whole block remains and 64 slots are free; updates *pos and *prev to where
   it stopped (the caller's SSE2/scalar loop goes on from there) and returns
   the number of changes written. */
static inline int64_t simd_block_changes(uint64_t m, uint64_t *carry, int64_t base,
                                         int64_t *out, int64_t k) {
    /* m: one bit per non-zero byte of the block at base; *carry: the byte before. */
    uint64_t t = m ^ ((m << 1) | *carry);
    *carry = m >> 63;
    while (t) {
        out[k++] = base + __builtin_ctzll(t);
        t &= t - 1;
    }
    return k;
}

SIMD_AVX2_TARGET static int64_t simd_scan_changes_avx2(const uint8_t *p, int64_t *pos, int64_t n,
                                                       uint64_t *prev, int64_t *out, int64_t cap) {
    const __m256i zero = _mm256_setzero_si256();
    int64_t i = *pos, k = 0;
    uint64_t carry = *prev;
    while (i + 64 <= n && k + 64 <= cap) {
        /* 256 bytes all of the current value (most of a mask): no change. */
        while (i + 256 <= n) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
            __m256i b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
            __m256i c = _mm256_loadu_si256((const __m256i *)(p + i + 64));
            __m256i d = _mm256_loadu_si256((const __m256i *)(p + i + 96));
            __m256i e = _mm256_loadu_si256((const __m256i *)(p + i + 128));
            __m256i f = _mm256_loadu_si256((const __m256i *)(p + i + 160));
            __m256i g = _mm256_loadu_si256((const __m256i *)(p + i + 192));
            __m256i q = _mm256_loadu_si256((const __m256i *)(p + i + 224));
            if (carry) {   /* all non-zero: the unsigned minimum is non-zero */
                a = _mm256_min_epu8(_mm256_min_epu8(_mm256_min_epu8(a, b), _mm256_min_epu8(c, d)),
                                    _mm256_min_epu8(_mm256_min_epu8(e, f), _mm256_min_epu8(g, q)));
                if (_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, zero)) != 0) break;
            } else {       /* all zero */
                a = _mm256_or_si256(_mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d)),
                                    _mm256_or_si256(_mm256_or_si256(e, f), _mm256_or_si256(g, q)));
                if (!_mm256_testz_si256(a, a)) break;
            }
            i += 256;
        }
        if (i + 64 > n) break;
        uint64_t z = (uint64_t)(uint32_t)_mm256_movemask_epi8(
                         _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + i)), zero))
                   | ((uint64_t)(uint32_t)_mm256_movemask_epi8(
                         _mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + i + 32)), zero))
                      << 32);
        k = simd_block_changes(~z, &carry, i, out, k);
        i += 64;
    }
    *pos = i;
    *prev = carry;
    return k;
}

SIMD_AVX512_TARGET static int64_t simd_scan_changes_avx512(const uint8_t *p, int64_t *pos, int64_t n,
                                                           uint64_t *prev, int64_t *out, int64_t cap) {
    const __m512i zero = _mm512_setzero_si512();
    int64_t i = *pos, k = 0;
    uint64_t carry = *prev;
    while (i + 64 <= n && k + 64 <= cap) {
        /* 256 bytes all of the current value (most of a mask): no change. */
        while (i + 256 <= n) {
            __m512i a = _mm512_loadu_si512((const void *)(p + i));
            __m512i b = _mm512_loadu_si512((const void *)(p + i + 64));
            __m512i c = _mm512_loadu_si512((const void *)(p + i + 128));
            __m512i d = _mm512_loadu_si512((const void *)(p + i + 192));
            if (carry) {   /* all non-zero: the unsigned minimum is non-zero */
                a = _mm512_min_epu8(_mm512_min_epu8(a, b), _mm512_min_epu8(c, d));
                if (_mm512_cmpeq_epu8_mask(a, zero) != 0) break;
            } else {       /* all zero */
                a = _mm512_or_si512(_mm512_or_si512(a, b), _mm512_or_si512(c, d));
                if (_mm512_test_epi64_mask(a, a) != 0) break;
            }
            i += 256;
        }
        if (i + 64 > n) break;
        uint64_t m = (uint64_t)_mm512_cmpneq_epu8_mask(_mm512_loadu_si512((const void *)(p + i)), zero);
        k = simd_block_changes(m, &carry, i, out, k);
        i += 64;
    }
    *pos = i;
    *prev = carry;
    return k;
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */

static int simd_level_best = SARLE_SIMD_SCALAR;   /* what this CPU can run */
static int simd_level = SARLE_SIMD_SCALAR;        /* what runs */

/* Detect the CPU; called once, at import (under the import lock). */
static void sarle_stats_simd_init(void) {
    int best = SARLE_SIMD_SCALAR;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi")
            && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt")) {
        best = SARLE_SIMD_AVX2;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                && __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2"))
            best = SARLE_SIMD_AVX512;
    }
    __atomic_store_n(&simd_level_best, best, __ATOMIC_RELAXED);
    __atomic_store_n(&simd_level, best, __ATOMIC_RELAXED);
}

static inline int sarle_stats_simd_best(void) {
    return __atomic_load_n(&simd_level_best, __ATOMIC_RELAXED);
}

static inline int sarle_stats_simd_level(void) {
    return __atomic_load_n(&simd_level, __ATOMIC_RELAXED);
}

/* Tests: run `level` (at most sarle_stats_simd_best()) from now on. */
static inline void sarle_stats_simd_set_level(int level) {
    __atomic_store_n(&simd_level, level, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------ */
/* Streaming fill                                                            */

SIMD_AVX2_TARGET static void simd_fill_lines_avx2(uint8_t *line, const uint8_t *last, int v) {
    const __m256i x = _mm256_set1_epi8((char)v);
    for (; line < last; line += 64) {
        _mm256_stream_si256((__m256i *)line, x);
        _mm256_stream_si256((__m256i *)(line + 32), x);
    }
}

static void simd_fill_lines_sse2(uint8_t *line, const uint8_t *last, int v) {
    const __m128i x = _mm_set1_epi8((char)v);
    for (; line < last; line += 64) {
        _mm_stream_si128((__m128i *)line, x);
        _mm_stream_si128((__m128i *)(line + 16), x);
        _mm_stream_si128((__m128i *)(line + 32), x);
        _mm_stream_si128((__m128i *)(line + 48), x);
    }
}

/* The line dst (64-byte aligned) set by non-temporal stores to byte j =
   bit j of bits, at each level. */
static void stream_bits_sse2(uint8_t *dst, uint64_t bits) {
    uint64_t q[8], x;
    int i;
    for (i = 0; i < 8; i++) {
        /* Byte i of bits to 8 bytes, bit j to byte j: the byte in every
           byte, bit j kept in byte j, then 0x7f added carries into bit 7
           exactly where it is set. */
        x = (((bits >> (8 * i)) & 0xff) * 0x0101010101010101ULL) & 0x8040201008040201ULL;
        q[i] = ((x + 0x7f7f7f7f7f7f7f7fULL) >> 7) & 0x0101010101010101ULL;
    }
    _mm_stream_si128((__m128i *)dst, _mm_loadu_si128((const __m128i *)q));
    _mm_stream_si128((__m128i *)(dst + 16), _mm_loadu_si128((const __m128i *)(q + 2)));
    _mm_stream_si128((__m128i *)(dst + 32), _mm_loadu_si128((const __m128i *)(q + 4)));
    _mm_stream_si128((__m128i *)(dst + 48), _mm_loadu_si128((const __m128i *)(q + 6)));
}

SIMD_AVX2_TARGET static void stream_bits_avx2(uint8_t *dst, uint64_t bits) {
    /* Each byte of a 32-bit half to 8 bytes, bit j of it kept in byte j. */
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i one = _mm256_set1_epi8(1);
    __m256i lo = _mm256_shuffle_epi8(_mm256_set1_epi32((int)(uint32_t)bits), spread);
    __m256i hi = _mm256_shuffle_epi8(_mm256_set1_epi32((int)(uint32_t)(bits >> 32)), spread);
    lo = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(lo, select), select), one);
    hi = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hi, select), select), one);
    _mm256_stream_si256((__m256i *)dst, lo);
    _mm256_stream_si256((__m256i *)(dst + 32), hi);
}

SIMD_AVX512_TARGET static void stream_bits_avx512(uint8_t *dst, uint64_t bits) {
    _mm512_stream_si512((__m512i *)dst, _mm512_maskz_set1_epi8((__mmask64)bits, 1));
}

static inline void stream_bits(uint8_t *dst, uint64_t bits, int level) {
    if (level == SARLE_SIMD_AVX512)
        stream_bits_avx512(dst, bits);
    else if (level == SARLE_SIMD_AVX2)
        stream_bits_avx2(dst, bits);
    else
        stream_bits_sse2(dst, bits);
}

/* The lines [line, last), both 64-byte aligned, set to v by non-temporal stores. */
static inline void stream_lines(uint8_t *line, uint8_t *last, int v) {
    if (sarle_stats_simd_level() == SARLE_SIMD_SCALAR)
        simd_fill_lines_sse2(line, last, v);
    else
        simd_fill_lines_avx2(line, last, v);
}

/* memset(p, v, n), with the 64-byte lines wholly inside written by
   non-temporal stores: a line is written without first being read from
   memory, and is not kept in the caches. For outputs too large to stay in
   them. The partial lines at either end take plain stores. AVX2 stores
   (about a third faster here than SSE2's) at either SIMD level, SSE2 at the
   scalar level. Call sarle_stream_fence() before the bytes are handed on. */
static inline void sarle_fill_stream(uint8_t *p, int v, int64_t n) {
    uint8_t *first, *last;
    if (n < 256) {
        memset(p, v, (size_t)n);
        return;
    }
    first = (uint8_t *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
    last = (uint8_t *)((uintptr_t)(p + n) & ~(uintptr_t)63);
    memset(p, v, (size_t)(first - p));
    stream_lines(first, last, v);
    memset(last, v, (size_t)(p + n - last));
}

/* Orders this thread's non-temporal stores before the stores after it. */
static inline void sarle_stream_fence(void) { _mm_sfence(); }

/* Area and extent of the mask of counts string s[0:n], h rows, total = h * w
   pixels: 1, or 0 when not handled (st untouched). */
static inline int sarle_stats_simd(const unsigned char *s, int64_t n, int64_t h, int64_t total,
                                   sarle_stats *st) {
    int level = sarle_stats_simd_level();
    if (level == SARLE_SIMD_SCALAR || n < 1 || h < 1 || total < 1 || total > SIMD_MAX_TOTAL
            || total / h >= SIMD_MAX_COLS)
        return 0;
    if (level == SARLE_SIMD_AVX512)
        return simd_stats_avx512(s, n, h, total, st);
    return simd_stats_avx2(s, n, h, total, st);
}

/* Foreground boundaries of counts string s[0:n] of a mask of total = h * w
   pixels into out, which has room for cap int64: how many, or -1 when not
   handled (a string needing more room included). See simd_boundaries_avx2. */
static inline int64_t sarle_boundaries_simd(const unsigned char *s, int64_t n, int64_t total,
                                            int64_t *out, int64_t cap) {
    if (sarle_stats_simd_level() == SARLE_SIMD_SCALAR || n < 1 || total < 1
            || total > SIMD_MAX_TOTAL)
        return -1;
    return simd_boundaries_avx2(s, n, total, out, cap);
}

/* The changes of a mask's bytes, found a block at a time: see
   simd_scan_changes_avx2. At the scalar level nothing is scanned (0). */
static inline int64_t sarle_scan_changes_simd(const uint8_t *p, int64_t *pos, int64_t n,
                                              uint64_t *prev, int64_t *out, int64_t cap) {
    int level = sarle_stats_simd_level();
    if (level == SARLE_SIMD_AVX512)
        return simd_scan_changes_avx512(p, pos, n, prev, out, cap);
    if (level == SARLE_SIMD_AVX2)
        return simd_scan_changes_avx2(p, pos, n, prev, out, cap);
    return 0;
}

#else   /* not x86-64 with GCC or Clang, or SARLE_NO_SIMD: the scalar parser only */

static inline void sarle_fill_stream(uint8_t *p, int v, int64_t n) { memset(p, v, (size_t)n); }
static inline void sarle_stream_fence(void) {}
static inline void stream_lines(uint8_t *line, uint8_t *last, int v) {
    memset(line, v, (size_t)(last - line));
}
static inline void stream_bits(uint8_t *dst, uint64_t bits, int level) {
    int j;
    (void)level;
    for (j = 0; j < 64; j++)
        dst[j] = (uint8_t)((bits >> j) & 1);
}

static void sarle_stats_simd_init(void) {}
static inline int sarle_stats_simd_best(void) { return SARLE_SIMD_SCALAR; }
static inline int sarle_stats_simd_level(void) { return SARLE_SIMD_SCALAR; }
static inline void sarle_stats_simd_set_level(int level) { (void)level; }
static inline int sarle_stats_simd(const unsigned char *s, int64_t n, int64_t h, int64_t total,
                                   sarle_stats *st) {
    (void)s; (void)n; (void)h; (void)total; (void)st;
    return 0;
}
static inline int64_t sarle_boundaries_simd(const unsigned char *s, int64_t n, int64_t total,
                                            int64_t *out, int64_t cap) {
    (void)s; (void)n; (void)total; (void)out; (void)cap;
    return -1;
}
static inline int64_t sarle_scan_changes_simd(const uint8_t *p, int64_t *pos, int64_t n,
                                              uint64_t *prev, int64_t *out, int64_t cap) {
    (void)p; (void)pos; (void)n; (void)prev; (void)out; (void)cap;
    return 0;
}

#endif

/* ------------------------------------------------------------------------ */
/* Streaming writer                                                          */

/* Writes the bytes lo[0:hi-lo] once each, in order, as runs of 0 or 1:
   what a decode into an output too large for the caches does.

   Every 64-byte line wholly inside [lo, hi) is written by non-temporal
   stores, so no line is read from memory before it is written: a line
   inside one run by stream_lines, a line where runs meet is first put
   together as a 64-bit mask, a bit a byte, and then stored whole by
   stream_bits. The lines at either end, shared with whatever lies next to
   [lo, hi) (another mask, maybe written by another thread), take plain
   stores of [lo, hi)'s bytes only. Off x86-64 or with SARLE_NO_SIMD the
   same, with plain stores.

       sarle_stream st;
       sarle_stream_open(&st, lo, hi);
       sarle_stream_put(&st, 0, 100); sarle_stream_put(&st, 1, 7); ...
       sarle_stream_close(&st);      (the runs must add up to hi - lo)
*/
typedef struct {
    uint8_t *lo, *hi;       /* the bytes to write */
    uint8_t *line;          /* the 64-byte line holding p */
    uint8_t *p;             /* the next byte to write */
    uint64_t bits;          /* the line's bytes before p: bit j is byte j */
    int level;              /* SIMD level of the stores */
} sarle_stream;

static inline void sarle_stream_open(sarle_stream *st, uint8_t *lo, uint8_t *hi) {
    st->lo = lo;
    st->hi = hi;
    st->p = lo;
    st->line = (uint8_t *)((uintptr_t)lo & ~(uintptr_t)63);
    st->bits = 0;
    st->level = sarle_stats_simd_level();
}

/* Write out the line being put together: whole by non-temporal stores when
   it lies inside [lo, hi), else its bytes in [lo, p) by plain stores. */
static inline void stream_flush(sarle_stream *st) {
    uint8_t *a = st->line < st->lo ? st->lo : st->line;
    int64_t j;
    if (a == st->line && st->p == st->line + 64) {
        stream_bits(st->line, st->bits, st->level);
        return;
    }
    for (j = a - st->line; j < st->p - st->line; j++)
        st->line[j] = (uint8_t)((st->bits >> j) & 1);
}

/* Append n bytes of value v (0 or 1). */
static inline void sarle_stream_put(sarle_stream *st, int v, int64_t n) {
    int64_t off, k, whole;
    while (n > 0) {
        off = st->p - st->line;
        if (off == 0 && n >= 64) {
            /* Whole lines of v: [p, p + n) lies inside [lo, hi). */
            whole = n & ~(int64_t)63;
            stream_lines(st->p, st->p + whole, v);
            st->p += whole;
            st->line = st->p;
            n -= whole;
            continue;
        }
        /* k < 64: the branch above takes off 0 with 64 bytes or more. */
        k = 64 - off < n ? 64 - off : n;
        if (v)
            st->bits |= (((uint64_t)1 << k) - 1) << off;
        st->p += k;
        n -= k;
        if (k == 64 - off) {
            stream_flush(st);
            st->bits = 0;
            st->line = st->p;
        }
    }
}

/* Write out the last, partial line (plain stores) and order the
   non-temporal stores before whatever this thread stores next. */
static inline void sarle_stream_close(sarle_stream *st) {
    stream_flush(st);
    sarle_stream_fence();
}

#endif   /* SARLE_STATS_SIMD_H */
