import Tensors

/// Switches for the BatchNorm training kernels (for A/B runs and the equality tests).
public enum BatchNormTuning {
    /// Train-mode row sums (forward statistics, backward Σg and Σg·x̂) eight channel rows at a
    /// time, one SIMD lane per row; the backward dx pass and the ReLU-masked gradient in SIMD:
    /// the same operations in the same order per value as the scalar loops (bit-identical;
    /// `BatchNormKernelTests`). The scalar loops ran one dependent add chain per row,
    /// latency-bound, with a branch for the ReLU mask. false: the scalar reference loops.
    nonisolated(unsafe) public static var vectorRows = true
}

/// Eight channel rows of one image, lane k = row k (rows `inner` apart): every kernel below adds
/// along a row in t order exactly as the scalar loop `for t in 0..<inner { s += f(row[t]) }`.
enum BatchNormRows {
    static let width = 8

    @inline(__always)
    static func gather(_ p: UnsafePointer<Float>, _ inner: Int, _ t: Int) -> SIMD8<Float> {
        SIMD8(p[t], p[inner + t], p[2 * inner + t], p[3 * inner + t],
              p[4 * inner + t], p[5 * inner + t], p[6 * inner + t], p[7 * inner + t])
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

    /// Σ_t row[t] per lane. row: 8 rows of x [.., C, inner] starting at channel row `row`.
    @inline(__always)
    static func sums(_ row: UnsafePointer<Float>, inner: Int) -> SIMD8<Float> {
        var s = SIMD8<Float>()
        for t in 0..<inner { s += gather(row, inner, t) }
        return s
    }

    /// Σ_t (row[t] − mean)² per lane, mean per lane (the Float mean of each row's channel).
    @inline(__always)
    static func squares(_ row: UnsafePointer<Float>, inner: Int, mean: SIMD8<Float>) -> SIMD8<Float> {
        var s = SIMD8<Float>()
        for t in 0..<inner { let d = gather(row, inner, t) - mean; s += d * d }
        return s
    }

    /// Backward sums per lane: Σ g and Σ g·((x − mean)·invStd), g = d masked by y > 0 (no mask
    /// when y is nil). d, x, y: 8 rows of [.., C, inner].
    @inline(__always)
    static func gradientSums(d: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>?,
                             inner: Int, mean: SIMD8<Float>, invStd: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Float>) {
        var s = SIMD8<Float>(), sx = SIMD8<Float>()
        if let y {
            for t in 0..<inner {
                let g = gather(d, inner, t).replacing(with: 0, where: .!(gather(y, inner, t) .> 0))
                s += g; sx += g * ((gather(x, inner, t) - mean) * invStd)
            }
        } else {
            for t in 0..<inner {
                let g = gather(d, inner, t)
                s += g; sx += g * ((gather(x, inner, t) - mean) * invStd)
            }
        }
        return (s, sx)
    }

    /// One row of the train-mode dx: out[t] = k·(count·g − a − ((x[t] − m)·s)·b), g = d[t] masked
    /// by y[t] > 0 (no mask when y is nil); SIMD along t, the scalar expression per value.
    @inline(__always)
    static func inputGradientRow(d: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>?,
                                 out: UnsafeMutablePointer<Float>, inner: Int,
                                 k: Float, count: Float, a: Float, m: Float, s: Float, b: Float) {
        var t = 0
        if inner >= width {
            let kv = SIMD8(repeating: k), cv = SIMD8(repeating: count), av = SIMD8(repeating: a)
            let mv = SIMD8(repeating: m), sv = SIMD8(repeating: s), bv = SIMD8(repeating: b)
            while t + width <= inner {
                var g = load(d + t)
                if let y { g.replace(with: 0, where: .!(load(y + t) .> 0)) }
                let xv = load(x + t)
                let o = kv * (cv * g - av - ((xv - mv) * sv) * bv)
                UnsafeMutableRawPointer(out + t).storeBytes(of: o, as: SIMD8<Float>.self)
                t += width
            }
        }
        while t < inner {
            let g = y.map { $0[t] > 0 ? d[t] : 0 } ?? d[t]
            out[t] = k * (count * g - a - ((x[t] - m) * s) * b)
            t += 1
        }
    }

    /// Eight rows of the train-mode dx at once (for rows shorter than 8), lane k = row k with its
    /// own k, a, m, s, b: the same expression per value as `inputGradientRow`.
    @inline(__always)
    static func inputGradientRows(d: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafePointer<Float>?,
                                  out: UnsafeMutablePointer<Float>, inner: Int, k: SIMD8<Float>, count: Float,
                                  a: SIMD8<Float>, m: SIMD8<Float>, s: SIMD8<Float>, b: SIMD8<Float>) {
        let cv = SIMD8(repeating: count)
        for t in 0..<inner {
            var g = gather(d, inner, t)
            if let y { g.replace(with: 0, where: .!(gather(y, inner, t) .> 0)) }
            let o = k * (cv * g - a - ((gather(x, inner, t) - m) * s) * b)
            for l in 0..<width { out[l * inner + t] = o[l] }
        }
    }

    /// Train-mode dx for rows r of the flattened [N·C] rows (row i is channel i % C), per channel
    /// k = γ·invStd/count, a = Σg, m = mean, s = invStd, b = Σg·x̂: `inputGradientRow` per row when
    /// rows hold at least 8 values, else eight rows at a time by `inputGradientRows`.
    static func trainInputGradient(rows r: Range<Int>, c: Int, inner: Int, d: UnsafePointer<Float>,
                                   x: UnsafePointer<Float>, y: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
                                   k: [Float], count: Float, a: [Float], m: [Float], s: [Float], b: [Float]) {
        var i = r.lowerBound
        if inner < width {
            while i + width <= r.upperBound {
                var kv = SIMD8<Float>(), av = kv, mv = kv, sv = kv, bv = kv
                let ch0 = i % c
                if ch0 + width <= c {   // eight channels in a row: contiguous per-channel values
                    k.withUnsafeBufferPointer { kv = load($0.baseAddress! + ch0) }
                    a.withUnsafeBufferPointer { av = load($0.baseAddress! + ch0) }
                    m.withUnsafeBufferPointer { mv = load($0.baseAddress! + ch0) }
                    s.withUnsafeBufferPointer { sv = load($0.baseAddress! + ch0) }
                    b.withUnsafeBufferPointer { bv = load($0.baseAddress! + ch0) }
                } else {
                    for l in 0..<width { let ch = (i + l) % c; kv[l] = k[ch]; av[l] = a[ch]; mv[l] = m[ch]; sv[l] = s[ch]; bv[l] = b[ch] }
                }
                let o = i * inner
                inputGradientRows(d: d + o, x: x + o, y: y.map { $0 + o }, out: out + o, inner: inner,
                                  k: kv, count: count, a: av, m: mv, s: sv, b: bv)
                i += width
            }
        }
        while i < r.upperBound {
            let ch = i % c, o = i * inner
            inputGradientRow(d: d + o, x: x + o, y: y.map { $0 + o }, out: out + o, inner: inner,
                             k: k[ch], count: count, a: a[ch], m: m[ch], s: s[ch], b: b[ch])
            i += 1
        }
    }

    /// out[i] = y[i] > 0 ? d[i] : 0 for i in r (the ReLU-masked gradient), SIMD with a scalar tail.
    static func maskedCopy(d: UnsafePointer<Float>, y: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        var i = r.lowerBound
        while i + width <= r.upperBound {
            let o = load(d + i).replacing(with: 0, where: .!(load(y + i) .> 0))
            UnsafeMutableRawPointer(out + i).storeBytes(of: o, as: SIMD8<Float>.self)
            i += width
        }
        while i < r.upperBound { out[i] = y[i] > 0 ? d[i] : 0; i += 1 }
    }
}
