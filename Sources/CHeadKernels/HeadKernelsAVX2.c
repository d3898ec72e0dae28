// AVX2 + FMA + F16C bodies of the head kernels (called only when the CPU has them; see
// HeadKernels.c). Same operations and order as the portable bodies. The same bodies are also
// compiled for AVX-512F+VL (hk_*_avx512): still 8-lane ymm arithmetic in the same order (so the
// same bits), but with 32 vector registers, so larger register tiles (6 rows x 4 outputs in the
// forward, 4 outputs x 48 columns in the weight gradient) and fewer loads per fused multiply-add.
#pragma STDC FP_CONTRACT OFF
#include "HeadKernelsInternal.h"
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>

#define HK_TARGET __attribute__((target("avx2,fma,f16c")))
#define HK_TARGET512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl")))
#define HK_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

// Forward: panels of 48 rows, K blocks of 4096 columns (a row's block is 8 KB of Float16, one
// long run for the hardware prefetcher; 512-column blocks ran at ~88 GFLOP/s, these at ~97 on
// one Zen 4 core; the per-lane sums are stored and reloaded between blocks, so the block size
// never changes a bit). Weight gradient: blocks of 384 columns packed tile-major.
enum { FWD_PANEL = 48, FWD_KC = 4096, WGRAD_COLS = 384 };

/// 8 consecutive values of a row from k (Float16 decoded exactly).
HK_INLINE __m256 ld8(const char *row, int f16, long k) {
    if (f16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + k)));
    return _mm256_loadu_ps((const float *)row + k);
}

/// Forward tile: R rows (R <= 6) x O outputs, k in [k0, k1) (multiples of 8). acc holds the 8 lanes of
/// (row r, output o) at acc[(r * out + o) * 8].
HK_INLINE void fwd_tile(const int R, const int O, const int f16, const char **xr, const float *w, long cols, long k0,
                        long k1, float *acc, long out) {
    __m256 a[6][4];
    const float *wr[4];
    for (int o = 0; o < O; o++) wr[o] = w + o * cols;
    for (int r = 0; r < R; r++)
        for (int o = 0; o < O; o++) a[r][o] = _mm256_loadu_ps(acc + (r * out + o) * 8);
    for (long k = k0; k < k1; k += 8) {
        __m256 x[6];
        for (int r = 0; r < R; r++) x[r] = ld8(xr[r], f16, k);
        for (int o = 0; o < O; o++) {
            __m256 wv = _mm256_loadu_ps(wr[o] + k);
            for (int r = 0; r < R; r++) a[r][o] = _mm256_fmadd_ps(x[r], wv, a[r][o]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int o = 0; o < O; o++) _mm256_storeu_ps(acc + (r * out + o) * 8, a[r][o]);
}

/// One K block of a panel: every output block, every row block (RB rows per tile: 3 or 6).
HK_INLINE void fwd_block(const int RB, const int f16, const char **xr, long pn, const float *w, long cols, long k0, long k1,
                         float *acc, long out) {
    for (long j0 = 0; j0 < out;) {
        int o4 = out - j0 >= 4;
        long r0 = 0;
        for (; r0 + RB <= pn; r0 += RB) {
            float *a = acc + (r0 * out + j0) * 8;
            if (o4) fwd_tile(RB, 4, f16, xr + r0, w + j0 * cols, cols, k0, k1, a, out);
            else fwd_tile(RB, 1, f16, xr + r0, w + j0 * cols, cols, k0, k1, a, out);
        }
        for (; r0 < pn; r0++) {
            float *a = acc + (r0 * out + j0) * 8;
            if (o4) fwd_tile(1, 4, f16, xr + r0, w + j0 * cols, cols, k0, k1, a, out);
            else fwd_tile(1, 1, f16, xr + r0, w + j0 * cols, cols, k0, k1, a, out);
        }
        j0 += o4 ? 4 : 1;
    }
}

HK_INLINE void fwd_all(const int RB, const char **xr, int f16, long cols, long n, const float *w, const float *bias,
                       long out, float *y) {
    long k8 = cols & ~7L;
    float *acc = malloc(sizeof(float) * 8 * FWD_PANEL * (size_t)out);
    for (long p0 = 0; p0 < n; p0 += FWD_PANEL) {
        long pn = n - p0 < FWD_PANEL ? n - p0 : FWD_PANEL;
        memset(acc, 0, sizeof(float) * 8 * (size_t)(pn * out));
        for (long k0 = 0; k0 < k8; k0 += FWD_KC) {
            long k1 = k8 - k0 < FWD_KC ? k8 : k0 + FWD_KC;
            if (f16) fwd_block(RB, 1, xr + p0, pn, w, cols, k0, k1, acc, out);
            else fwd_block(RB, 0, xr + p0, pn, w, cols, k0, k1, acc, out);
        }
        for (long i = 0; i < pn; i++) {
            for (long j = 0; j < out; j++) {
                float *l = acc + (i * out + j) * 8;
                for (long k = k8; k < cols; k++) l[k - k8] = fmaf(hk_at(xr[p0 + i], f16, k), w[j * cols + k], l[k - k8]);
                float s = hk_lane_sum(l);
                y[(p0 + i) * out + j] = bias ? s + bias[j] : s;
            }
        }
    }
    free(acc);
}

HK_TARGET void hk_fwd_avx2(const char **xr, int f16, long cols, long n, const float *w, const float *bias, long out,
                           float *y) {
    fwd_all(3, xr, f16, cols, n, w, bias, out, y);
}

HK_TARGET512 void hk_fwd_avx512(const char **xr, int f16, long cols, long n, const float *w, const float *bias,
                                long out, float *y) {
    fwd_all(6, xr, f16, cols, n, w, bias, out, y);
}

/// Weight-gradient tile: O outputs (O <= 4) x V vectors (V <= 6) of 8 columns from k0, the chain over all n rows.
/// Row i's V*8 values sit at x(i) = base + i * step (a packed block, or the row itself).
HK_INLINE void wgrad_tile(const int O, const int V, const int f16, const char *const *xr, const char *base, long step,
                          long n, const float *dy, long out, long j0, long k0, long xk, float *dw, long cols,
                          int accumulate) {
    __m256 a[4][6];
    for (int o = 0; o < O; o++)
        for (int v = 0; v < V; v++) a[o][v] = _mm256_setzero_ps();
    for (long i = 0; i < n; i++) {
        __m256 x[6];
        const char *row = xr ? xr[i] : base + i * step;
        for (int v = 0; v < V; v++) x[v] = ld8(row, f16, xk + 8 * v);
        const float *d = dy + i * out + j0;
        for (int o = 0; o < O; o++) {
            __m256 dv = _mm256_broadcast_ss(d + o);
            for (int v = 0; v < V; v++) a[o][v] = _mm256_fmadd_ps(dv, x[v], a[o][v]);
        }
    }
    for (int o = 0; o < O; o++) {
        float *row = dw + (j0 + o) * cols + k0;
        for (int v = 0; v < V; v++) {
            __m256 r = accumulate ? _mm256_add_ps(_mm256_loadu_ps(row + 8 * v), a[o][v]) : a[o][v];
            _mm256_storeu_ps(row + 8 * v, r);
        }
    }
}

/// Every output for the V*8 columns from k0 (xr: rows in place, xk = k0; else packed at base).
HK_INLINE void wgrad_cols(const int V, const int f16, const char *const *xr, const char *base, long step, long n,
                          const float *dy, long out, long k0, long xk, float *dw, long cols, int accumulate) {
    long j0 = 0;
    for (; j0 + 4 <= out; j0 += 4) wgrad_tile(4, V, f16, xr, base, step, n, dy, out, j0, k0, xk, dw, cols, accumulate);
    for (; j0 < out; j0++) wgrad_tile(1, V, f16, xr, base, step, n, dy, out, j0, k0, xk, dw, cols, accumulate);
}

HK_INLINE void wgrad_all(const int V, const int f16, const char **xr, long cols, long n, const float *dy, long out,
                         float *dw, int accumulate, long kBegin, long kEnd) {
    // Blocks of tiles of V*8 columns (WGRAD_COLS columns a block) are first copied tile-major
    // (tile t: row i's V*8 values at pk + (t * n + i) * V*8 values), so a tile's rows are
    // consecutive: walking the rows in place would touch n lines a feature-row stride apart (the
    // same cache sets). V = 2 (16 registers): 4 outputs x 2 vectors keep all 8 sums, 2 row
    // vectors and a broadcast; V = 6 (32 registers): 24 sums, 6 row vectors and a broadcast.
    const long es = f16 ? 2 : 4, tw = 8 * V, tileBytes = tw * es, maxTiles = WGRAD_COLS / tw;
    long k8 = kBegin + ((kEnd - kBegin) & ~7L), k0 = kBegin;
    char *pk = malloc((size_t)(maxTiles * tileBytes * (n > 0 ? n : 1)));
    while (k0 + tw <= k8) {
        long tiles = (k8 - k0) / tw;
        if (tiles > maxTiles) tiles = maxTiles;
        for (long i = 0; i < n; i++)
            for (long t = 0; t < tiles; t++) memcpy(pk + (t * n + i) * tileBytes, xr[i] + (k0 + tw * t) * es, (size_t)tileBytes);
        // While this block's tiles run, the next block's row segments are fetched into L2 (a
        // share of the rows per tile): copying them in later then reads L2, not L3 or memory.
        long nk0 = k0 + tiles * tw, nTiles = (k8 - nk0) / tw;
        if (nTiles > maxTiles) nTiles = maxTiles;
        long nBytes = nTiles * tileBytes;
        for (long t = 0; t < tiles; t++, k0 += tw) {
            if (nBytes > 0) {
                long r0 = t * n / tiles, r1 = (t + 1) * n / tiles;
                for (long i = r0; i < r1; i++) {
                    const char *src = xr[i] + nk0 * es;
                    for (long b = 0; b < nBytes; b += 64) _mm_prefetch(src + b, _MM_HINT_T1);
                }
            }
            wgrad_cols(V, f16, 0, pk + t * n * tileBytes, tileBytes, n, dy, out, k0, 0, dw, cols, accumulate);
        }
    }
    free(pk);
    for (; k0 < k8; k0 += 8) wgrad_cols(1, f16, (const char *const *)xr, 0, 0, n, dy, out, k0, k0, dw, cols, accumulate);
    for (long j = 0; j < out; j++) {
        for (long k = k8; k < kEnd; k++) {
            float s = 0;
            for (long i = 0; i < n; i++) s = fmaf(dy[i * out + j], hk_at(xr[i], f16, k), s);
            dw[j * cols + k] = accumulate ? dw[j * cols + k] + s : s;
        }
    }
}

HK_TARGET void hk_wgrad_avx2(const char **xr, int f16, long cols, long n, const float *dy, long out, float *dw,
                             int acc, long k0, long k1) {
    if (f16) wgrad_all(2, 1, xr, cols, n, dy, out, dw, acc, k0, k1);
    else wgrad_all(2, 0, xr, cols, n, dy, out, dw, acc, k0, k1);
}

HK_TARGET512 void hk_wgrad_avx512(const char **xr, int f16, long cols, long n, const float *dy, long out, float *dw,
                                  int acc, long k0, long k1) {
    if (f16) wgrad_all(6, 1, xr, cols, n, dy, out, dw, acc, k0, k1);
    else wgrad_all(6, 0, xr, cols, n, dy, out, dw, acc, k0, k1);
}

/// Float32 -> half over the first multiple of 8 elements (imm 0: round to nearest even, whatever
/// MXCSR says); returns how many were done.
HK_TARGET long hk_encode_f16_avx2(const float *src, uint16_t *dst, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    return i;
}

/// Adam over the first multiple of 8 elements; returns how many were done.
HK_TARGET long hk_adam_avx2(float *p, const float *g, float *m, float *v, long n, float wd, float w1, float beta2,
                            float w2, float bias2Sqrt, float eps, float negStep) {
    const __m256 vwd = _mm256_set1_ps(wd), vw1 = _mm256_set1_ps(w1), vw1m = _mm256_set1_ps(w1 - 1);
    const __m256 vb2 = _mm256_set1_ps(beta2), vw2 = _mm256_set1_ps(w2), vbs = _mm256_set1_ps(bias2Sqrt);
    const __m256 veps = _mm256_set1_ps(eps), vns = _mm256_set1_ps(negStep);
    const int low = w1 < 0.5f;
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 pv = _mm256_loadu_ps(p + i), gv = _mm256_loadu_ps(g + i), mv = _mm256_loadu_ps(m + i);
        if (wd != 0) gv = _mm256_add_ps(gv, _mm256_mul_ps(vwd, pv));
        __m256 d = _mm256_sub_ps(gv, mv);
        mv = low ? _mm256_fmadd_ps(vw1, d, mv) : _mm256_fmadd_ps(vw1m, d, gv);
        _mm256_storeu_ps(m + i, mv);
        __m256 vv = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), vb2), _mm256_mul_ps(_mm256_mul_ps(vw2, gv), gv));
        _mm256_storeu_ps(v + i, vv);
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), vbs), veps);
        _mm256_storeu_ps(p + i, _mm256_add_ps(pv, _mm256_div_ps(_mm256_mul_ps(vns, mv), denom)));
    }
    return i;
}
#endif
