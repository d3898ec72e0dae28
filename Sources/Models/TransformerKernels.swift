import Foundation
import Tensors
import Layers

// Local building blocks of the text encoders: Linear, LayerNorm, exact GELU, dropout masks.
// Written here because branch `layers` had not published its API when the encoders were
// written; they follow the same conventions (forward caches what backward needs, backward
// ADDS into Parameter.grad and skips frozen parameters, PyTorch parameter names).
// TODO(merge): swap for Layers.Linear / LayerNorm / GELU / Dropout once both are merged.

/// y = x·Wᵀ + b over the rows of a [N, in] matrix (nn.Linear; weight [out, in]).
final class TransformerLinear: Module {
    let weight: Parameter
    let bias: Parameter
    let inFeatures: Int
    let outFeatures: Int
    private var cachedX: [Float] = []
    private var cachedRows = 0

    init(_ inFeatures: Int, _ outFeatures: Int, rng: inout SeededGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        // HF init: normal(0, 0.02) weights, zero bias (only matters for tests / from-scratch use).
        weight = Parameter(Tensor.normal([outFeatures, inFeatures], std: 0.02, rng: &rng))
        bias = Parameter(Tensor(zeros: [outFeatures]))
    }

    func namedParameters() -> [(String, Parameter)] { [("weight", weight), ("bias", bias)] }

    // x: [N, in] (flat) -> y: [N, out]
    func forward(_ x: [Float], rows n: Int, cache: Bool) -> [Float] {
        precondition(x.count == n * inFeatures)
        var y = [Float](repeating: 0, count: n * outFeatures)
        let b = bias.value.data
        y.withUnsafeMutableBufferPointer { py in
            for r in 0..<n { (py.baseAddress! + r * outFeatures).update(from: b, count: outFeatures) }
            x.withUnsafeBufferPointer { px in
                weight.value.data.withUnsafeBufferPointer { pw in
                    sgemm(transB: true, m: n, n: outFeatures, k: inFeatures,
                          a: px.baseAddress!, b: pw.baseAddress!, beta: 1, c: py.baseAddress!)
                }
            }
        }
        if cache { cachedX = x; cachedRows = n } else { cachedX = []; cachedRows = 0 }
        return y
    }

    // dy: [N, out] -> dx: [N, in]; dW += dyᵀ·x, db += Σ_rows dy.
    func backward(_ dy: [Float], needInputGrad: Bool = true) -> [Float] {
        let n = cachedRows
        precondition(dy.count == n * outFeatures && cachedX.count == n * inFeatures,
                     "TransformerLinear.backward without a cached forward")
        if !weight.frozen {
            dy.withUnsafeBufferPointer { pdy in
                cachedX.withUnsafeBufferPointer { px in
                    weight.grad.data.withUnsafeMutableBufferPointer { pg in
                        sgemm(transA: true, m: outFeatures, n: inFeatures, k: n,
                              a: pdy.baseAddress!, b: px.baseAddress!, beta: 1, c: pg.baseAddress!)
                    }
                }
            }
        }
        if !bias.frozen {
            bias.grad.data.withUnsafeMutableBufferPointer { pg in
                dy.withUnsafeBufferPointer { pdy in
                    for r in 0..<n {
                        let row = pdy.baseAddress! + r * outFeatures
                        for j in 0..<outFeatures { pg[j] += row[j] }
                    }
                }
            }
        }
        guard needInputGrad else { return [] }
        var dx = [Float](repeating: 0, count: n * inFeatures)
        dy.withUnsafeBufferPointer { pdy in
            weight.value.data.withUnsafeBufferPointer { pw in
                dx.withUnsafeMutableBufferPointer { pdx in
                    sgemm(m: n, n: inFeatures, k: outFeatures,
                          a: pdy.baseAddress!, b: pw.baseAddress!, c: pdx.baseAddress!)
                }
            }
        }
        return dx
    }

    func clearCache() { cachedX = []; cachedRows = 0 }
}

/// LayerNorm over the last dimension D of [N, D] rows; biased variance; eps from the config.
final class TransformerLayerNorm: Module {
    let weight: Parameter
    let bias: Parameter
    let dim: Int
    let eps: Float
    private var xhat: [Float] = []
    private var rstd: [Float] = []

    init(_ dim: Int, eps: Float) {
        self.dim = dim
        self.eps = eps
        weight = Parameter(Tensor(shape: [dim], repeating: 1))
        bias = Parameter(Tensor(zeros: [dim]))
    }

    func namedParameters() -> [(String, Parameter)] { [("weight", weight), ("bias", bias)] }

    // x: [N, D] -> y: [N, D]
    func forward(_ x: [Float], cache: Bool) -> [Float] {
        let n = x.count / dim
        var y = [Float](repeating: 0, count: x.count)
        var xh = cache ? [Float](repeating: 0, count: x.count) : []
        var rs = cache ? [Float](repeating: 0, count: n) : []
        let g = weight.value.data, b = bias.value.data
        let d = dim, eps = Double(self.eps)
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                xh.withUnsafeMutableBufferPointer { pxh in
                    rs.withUnsafeMutableBufferPointer { prs in
                        parallelFor(n, minChunk: 64) { range in
                            for r in range {
                                let row = px.baseAddress! + r * d
                                var mean = 0.0
                                for j in 0..<d { mean += Double(row[j]) }
                                mean /= Double(d)
                                var v = 0.0
                                for j in 0..<d { let t = Double(row[j]) - mean; v += t * t }
                                v /= Double(d)
                                let s = 1.0 / (v + eps).squareRoot()
                                for j in 0..<d {
                                    let h = Float((Double(row[j]) - mean) * s)
                                    if cache { pxh[r * d + j] = h }
                                    py[r * d + j] = h * g[j] + b[j]
                                }
                                if cache { prs[r] = Float(s) }
                            }
                        }
                    }
                }
            }
        }
        xhat = xh
        rstd = rs
        return y
    }

    // dy: [N, D] -> dx: [N, D]; dγ += Σ dy·x̂, dβ += Σ dy.
    // dx = rstd · (g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ.
    func backward(_ dy: [Float]) -> [Float] {
        let d = dim
        let n = dy.count / d
        precondition(xhat.count == dy.count, "TransformerLayerNorm.backward without a cached forward")
        if !weight.frozen || !bias.frozen {
            var dg = [Float](repeating: 0, count: d), db = [Float](repeating: 0, count: d)
            for r in 0..<n {
                for j in 0..<d {
                    dg[j] += dy[r * d + j] * xhat[r * d + j]
                    db[j] += dy[r * d + j]
                }
            }
            if !weight.frozen { for j in 0..<d { weight.grad.data[j] += dg[j] } }
            if !bias.frozen { for j in 0..<d { bias.grad.data[j] += db[j] } }
        }
        var dx = [Float](repeating: 0, count: dy.count)
        let g = weight.value.data
        dy.withUnsafeBufferPointer { pdy in
            xhat.withUnsafeBufferPointer { pxh in
                dx.withUnsafeMutableBufferPointer { pdx in
                    parallelFor(n, minChunk: 64) { range in
                        for r in range {
                            var m1 = 0.0, m2 = 0.0
                            for j in 0..<d {
                                let gj = Double(pdy[r * d + j] * g[j])
                                m1 += gj
                                m2 += gj * Double(pxh[r * d + j])
                            }
                            m1 /= Double(d); m2 /= Double(d)
                            let s = Double(rstd[r])
                            for j in 0..<d {
                                let gj = Double(pdy[r * d + j] * g[j])
                                pdx[r * d + j] = Float(s * (gj - m1 - Double(pxh[r * d + j]) * m2))
                            }
                        }
                    }
                }
            }
        }
        return dx
    }

    func clearCache() { xhat = []; rstd = [] }
}

/// Exact GELU (HF "gelu"): x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
enum TransformerGELU {
    static func forward(_ x: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                parallelFor(x.count, minChunk: 16384) { range in
                    for i in range { let v = px[i]; py[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
                }
            }
        }
        return y
    }

    // dx = dy·(Φ(x) + x·φ(x))
    static func backward(_ dy: [Float], input x: [Float]) -> [Float] {
        var dx = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { px in
            dy.withUnsafeBufferPointer { pdy in
                dx.withUnsafeMutableBufferPointer { pdx in
                    parallelFor(x.count, minChunk: 16384) { range in
                        for i in range {
                            let v = px[i]
                            let cdf = 0.5 * (1 + erff(v * 0.70710678118654752))
                            let pdf = 0.3989422804014327 * expf(-0.5 * v * v)
                            pdx[i] = pdy[i] * (cdf + v * pdf)
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// Inverted dropout masks: each element kept with probability 1−p and scaled by 1/(1−p).
enum TransformerDropout {
    /// A mask of `count` factors (0 or 1/(1−p)); nil when no dropout applies (eval or p = 0).
    static func mask(count: Int, p: Float, mode: Mode, rng: inout SeededGenerator) -> [Float]? {
        guard mode == .train, p > 0 else { return nil }
        let scale = 1 / (1 - p)
        var m = [Float](repeating: 0, count: count)
        for i in 0..<count { m[i] = rng.nextFloat() < p ? 0 : scale }
        return m
    }

    static func apply(_ x: inout [Float], _ mask: [Float]?) {
        guard let mask else { return }
        for i in 0..<x.count { x[i] *= mask[i] }
    }
}
