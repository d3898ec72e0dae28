// Kernels for SideNet / MainNet heads trained on cached feature rows (Runner/FeatureHead.swift)
// and for Adam's element loop (Optim/Adam.swift). Each entry point picks, at run time, an
// AVX-512F+VL body (larger register tiles), an AVX2+FMA+F16C body, or a portable C body; all
// compute every output with the same operations in the same order (the same bits on any of
// them), whatever the number of rows or their neighbours.
#ifndef CHEADKERNELS_H
#define CHEADKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element type of feature rows.
enum { HK_F32 = 0, HK_F16 = 1 };

/// y[i, j] = bias[j] + sum_k x(idx[i])[k] * w[j, k]   (x rows of `cols` values at
/// rows + idx[i] * cols, Float32 or IEEE half bit patterns; w [out, cols]; y [n, out];
/// bias may be NULL). Per (i, j): 8 lanes, lane l sums k = l (mod 8) in ascending k with
/// fused multiply-adds, then ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)), then + bias.
void hk_rows_linear_forward(const void *rows, int dtype, long cols, const long *idx, long n,
                            const float *w, const float *bias, long out, float *y);

/// dw[j, k] (+)= sum_i dy[i, j] * x(idx[i])[k] for k in [k0, k1)   (dy [n, out], dw [out, cols]).
/// The sum over i is one fused multiply-add chain in ascending i from 0, then added to dw when
/// `accumulate` is non-zero (else stored). Column ranges are independent (split them freely).
void hk_rows_linear_weight_grad(const void *rows, int dtype, long cols, const long *idx, long n,
                                const float *dy, long out, float *dw, int accumulate, long k0, long k1);

/// Adam's element loop over [0, n) (Optim/Adam.swift documents the formula): with weight
/// decay wd, g' = g + wd * p; m = lerp(m, g', w1) as torch's fused form; v = v * beta2 +
/// (w2 * g') * g'; p = p + (negStep * m) / (sqrt(v) / bias2Sqrt + eps). Each operation is
/// rounded to Float32 separately (no contraction) except the lerp's one fused multiply-add.
void hk_adam_update(float *p, const float *g, float *m, float *v, long n, float wd, float w1, float beta2,
                    float w2, float bias2Sqrt, float eps, float negStep);

/// Float32 -> IEEE half bit patterns, round-to-nearest-even, by the F16C instruction when the
/// AVX2+FMA+F16C bodies are in use: converts the first multiple of 8 of `n` values and returns how
/// many it converted (0 otherwise; the caller converts the rest, in Runner's HalfPrecision.bits,
/// which gives the same bits).
long hk_encode_f16(const float *src, uint16_t *dst, long n);

/// 1 when the AVX2+FMA+F16C bodies are in use, else 0 (for benchmarks and tests).
int hk_uses_avx2(void);

/// The bodies in use: 2 AVX-512F+VL, 1 AVX2+FMA+F16C, 0 portable (for benchmarks and tests).
int hk_level(void);

/// Forces the portable bodies (1) or the automatic choice (0); for tests only.
void hk_force_portable(int on);

/// Uses no body above `cap` (0 portable, 1 AVX2, 2 AVX-512; negative: automatic); for tests only.
void hk_force_level(int cap);

#ifdef __cplusplus
}
#endif

#endif
