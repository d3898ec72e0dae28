// Head kernels on cached feature rows and Adam's element loop (see include/CHeadKernels.h).
// The AVX2 bodies and the portable bodies perform the same rounded operations in the same order
// (fused multiply-adds are fmaf in the portable bodies), so they agree bit for bit.
#pragma STDC FP_CONTRACT OFF
#include "CHeadKernels.h"
#include "HeadKernelsInternal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// MARK: dispatch

static int hk_level_cap = 2;
static int hk_cpu_level = -1;

/// 2: AVX-512F+VL (with AVX2, FMA, F16C), 1: AVX2+FMA+F16C, 0: portable; capped by hk_force_level.
int hk_level(void) {
#if defined(__x86_64__)
    if (hk_cpu_level < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
        hk_cpu_level = avx512 ? 2 : avx2 ? 1 : 0;
    }
    return hk_cpu_level < hk_level_cap ? hk_cpu_level : hk_level_cap;
#else
    return 0;
#endif
}

int hk_uses_avx2(void) { return hk_level() >= 1; }

void hk_force_portable(int on) { hk_level_cap = on ? 0 : 2; }

void hk_force_level(int cap) { hk_level_cap = cap < 0 ? 2 : cap; }

// MARK: shared helpers

/// Row pointers of the gathered rows (n pointers; caller frees).
static const char **hk_row_pointers(const void *rows, int dtype, long cols, const long *idx, long n) {
    const char **p = malloc(sizeof(char *) * (size_t)(n > 0 ? n : 1));
    size_t rowBytes = (size_t)cols * (dtype == HK_F16 ? 2 : 4);
    for (long i = 0; i < n; i++) p[i] = (const char *)rows + (size_t)idx[i] * rowBytes;
    return p;
}

// MARK: forward, portable

static void fwd_portable(const char **xr, int f16, long cols, long n, const float *w, const float *bias, long out, float *y) {
    for (long i = 0; i < n; i++) {
        for (long j = 0; j < out; j++) {
            float l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            const float *wr = w + j * cols;
            for (long k = 0; k < cols; k++) l[k & 7] = fmaf(hk_at(xr[i], f16, k), wr[k], l[k & 7]);
            float s = hk_lane_sum(l);
            y[i * out + j] = bias ? s + bias[j] : s;
        }
    }
}

// MARK: weight gradient, portable

static void wgrad_portable(const char **xr, int f16, long cols, long n, const float *dy, long out, float *dw, int acc,
                           long k0, long k1) {
    float *s = malloc(sizeof(float) * (size_t)(k1 - k0));
    for (long j = 0; j < out; j++) {
        memset(s, 0, sizeof(float) * (size_t)(k1 - k0));
        for (long i = 0; i < n; i++) {
            float d = dy[i * out + j];
            for (long k = k0; k < k1; k++) s[k - k0] = fmaf(d, hk_at(xr[i], f16, k), s[k - k0]);
        }
        float *o = dw + j * cols;
        for (long k = k0; k < k1; k++) o[k] = acc ? o[k] + s[k - k0] : s[k - k0];
    }
    free(s);
}

// MARK: entry points

void hk_rows_linear_forward(const void *rows, int dtype, long cols, const long *idx, long n,
                            const float *w, const float *bias, long out, float *y) {
    if (n <= 0 || out <= 0) return;
    const char **xr = hk_row_pointers(rows, dtype, cols, idx, n);
#if defined(__x86_64__)
    int level = hk_level();
    if (level == 2) hk_fwd_avx512(xr, dtype == HK_F16, cols, n, w, bias, out, y);
    else if (level == 1) hk_fwd_avx2(xr, dtype == HK_F16, cols, n, w, bias, out, y);
    else
#endif
        fwd_portable(xr, dtype == HK_F16, cols, n, w, bias, out, y);
    free(xr);
}

void hk_rows_linear_weight_grad(const void *rows, int dtype, long cols, const long *idx, long n,
                                const float *dy, long out, float *dw, int accumulate, long k0, long k1) {
    if (k0 < 0) k0 = 0;
    if (k1 > cols) k1 = cols;
    if (out <= 0 || k1 <= k0) return;
    const char **xr = hk_row_pointers(rows, dtype, cols, idx, n);
#if defined(__x86_64__)
    int level = hk_level();
    if (level == 2) hk_wgrad_avx512(xr, dtype == HK_F16, cols, n, dy, out, dw, accumulate, k0, k1);
    else if (level == 1) hk_wgrad_avx2(xr, dtype == HK_F16, cols, n, dy, out, dw, accumulate, k0, k1);
    else
#endif
        wgrad_portable(xr, dtype == HK_F16, cols, n, dy, out, dw, accumulate, k0, k1);
    free(xr);
}

void hk_adam_update(float *p, const float *g, float *m, float *v, long n, float wd, float w1, float beta2,
                    float w2, float bias2Sqrt, float eps, float negStep) {
    long i = 0;
#if defined(__x86_64__)
    if (hk_uses_avx2()) i = hk_adam_avx2(p, g, m, v, n, wd, w1, beta2, w2, bias2Sqrt, eps, negStep);
#endif
    for (; i < n; i++) adam_one(p, g, m, v, i, wd, w1, beta2, w2, bias2Sqrt, eps, negStep);
}

long hk_encode_f16(const float *src, uint16_t *dst, long n) {
#if defined(__x86_64__)
    if (hk_uses_avx2()) return hk_encode_f16_avx2(src, dst, n);
#endif
    (void)src; (void)dst; (void)n;
    return 0;
}
