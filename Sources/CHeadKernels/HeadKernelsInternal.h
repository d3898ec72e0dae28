// Private to CHeadKernels: helpers shared by the portable and the AVX2 bodies.
#ifndef HEADKERNELSINTERNAL_H
#define HEADKERNELSINTERNAL_H
#pragma STDC FP_CONTRACT OFF
#include <math.h>
#include <stdint.h>
#include <string.h>

/// IEEE half bit pattern -> float, exact (as Runner's HalfPrecision.float and vcvtph2ps).
static inline float hk_half(uint16_t h) {
    uint32_t x = h, sign = (x & 0x8000u) << 16, mag = (x & 0x7fffu) << 13, scaled, bits;
    float f;
    memcpy(&f, &mag, 4);
    f *= 0x1p112f;
    memcpy(&scaled, &f, 4);
    bits = ((x & 0x7c00u) == 0x7c00u) ? (0x7f800000u | mag) : scaled;
    bits |= sign;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float hk_at(const char *row, int f16, long k) {
    return f16 ? hk_half(((const uint16_t *)row)[k]) : ((const float *)row)[k];
}

/// The fixed lane reduction of the forward kernel.
static inline float hk_lane_sum(const float *l) {
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

/// One Adam element (the portable body and the AVX2 body's tail).
static inline void adam_one(float *p, const float *g, float *m, float *v, long i, float wd, float w1, float beta2,
                            float w2, float bias2Sqrt, float eps, float negStep) {
    float gi = wd != 0 ? g[i] + wd * p[i] : g[i];
    float d = gi - m[i];
    float mi = w1 < 0.5f ? fmaf(w1, d, m[i]) : fmaf(w1 - 1, d, gi);
    m[i] = mi;
    float t = w2 * gi;
    float vi = v[i] * beta2 + t * gi;
    v[i] = vi;
    float denom = sqrtf(vi) / bias2Sqrt + eps;
    float u = negStep * mi;
    p[i] = p[i] + u / denom;
}

#if defined(__x86_64__)
void hk_fwd_avx2(const char **xr, int f16, long cols, long n, const float *w, const float *bias, long out, float *y);
void hk_wgrad_avx2(const char **xr, int f16, long cols, long n, const float *dy, long out, float *dw, int acc,
                   long k0, long k1);
void hk_fwd_avx512(const char **xr, int f16, long cols, long n, const float *w, const float *bias, long out,
                   float *y);
void hk_wgrad_avx512(const char **xr, int f16, long cols, long n, const float *dy, long out, float *dw, int acc,
                     long k0, long k1);
long hk_encode_f16_avx2(const float *src, uint16_t *dst, long n);
long hk_adam_avx2(float *p, const float *g, float *m, float *v, long n, float wd, float w1, float beta2,
                  float w2, float bias2Sqrt, float eps, float negStep);
#endif

#endif
