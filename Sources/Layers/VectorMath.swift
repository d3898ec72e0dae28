import Foundation
import Tensors

/// Vectorised elementwise math for the transformer kernels (GELU, softmax), in SIMD8<Float>.
/// Each kernel has a plain scalar reference (libm in Double) it is tested against
/// (LayersTests/VectorMathTests).
public enum VectorMath {
    public typealias V = SIMD8<Float>

    /// e^x for x in about [−87, 88] (relative error ≲ 2e-7; below −87.3 returns 0, NaN stays NaN).
    /// Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial, 2^n from the exponent bits.
    /// n is rounded with the 1.5·2²³ shifter (no float→int conversion: those are generic calls in
    /// Swift's SIMD and were most of the time).
    @inline(__always)
    public static func exp(_ x: V) -> V {
        var xc = x.replacing(with: 88.3, where: x .> 88.3)
        xc.replace(with: -87.3, where: xc .< -87.3)
        let shifter: Float = 12_582_912           // 1.5·2²³: adding it rounds to an integer in the low mantissa bits
        let t = xc * 1.442695040888963 + shifter
        let n = t - shifter
        var r = xc - n * 0.693145751953125       // ln2 high part (exact in Float)
        r = r - n * 1.428606765330187e-06         // ln2 low part
        var p = V(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000   // n as an integer
        let scale = unsafeBitCast((ni &+ 127) &<< 23, to: V.self)        // 2^n
        var y = p * scale
        y.replace(with: 0, where: x .< -87.3)
        y.replace(with: x, where: x .!= x)
        return y
    }

    /// erf(x), Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7) — the formula of PyTorch's
    /// vectorised CPU erf: sign(x)·(1 − t·poly(t)·e^{−x²}), t = 1/(1 + 0.3275911|x|).
    @inline(__always)
    public static func erf(_ x: V) -> V {
        let a = x.replacing(with: -x, where: x .< 0)
        let t = 1 / (a * 0.3275911 + 1)
        var r = V(repeating: 1.061405429)
        r = r * t - 1.453152027
        r = r * t + 1.421413741
        r = r * t - 0.284496736
        r = r * t + 0.254829592
        let e = 1 - r * t * exp(-(x * x))
        return e.replacing(with: -e, where: x .< 0)
    }

    /// In place: y = 0.5·x·(1 + erf(x/√2)) over n elements (exact GELU, PyTorch `nn.GELU()`).
    public static func geluForward(_ p: UnsafeMutablePointer<Float>, count n: Int) {
        geluForward(UnsafePointer(p), into: p, count: n)
    }

    /// out[i] = 0.5·x[i]·(1 + erf(x[i]/√2)) over n elements; `out` may alias `x` (one pass, no copy).
    public static func geluForward(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int) {
        parallelFor(n, minChunk: 16384) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
                let y = 0.5 * v * (1 + erf(v * 0.7071067811865476))
                UnsafeMutableRawPointer(out + i).storeBytes(of: y, as: V.self)
                i += 8
            }
            for j in i..<range.upperBound { out[j] = Float(referenceGELU(Double(x[j]))) }
        }
    }

    /// In place: d ← d·(Φ(x) + x·φ(x)) over n elements (GELU backward).
    public static func geluBackward(x: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, count n: Int) {
        parallelFor(n, minChunk: 16384) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let xv = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
                let dv = UnsafeRawPointer(d + i).loadUnaligned(as: V.self)
                let cdf = 0.5 * (1 + erf(xv * 0.7071067811865476))
                let pdf = exp(-0.5 * xv * xv) * 0.3989422804014327
                UnsafeMutableRawPointer(d + i).storeBytes(of: dv * (cdf + xv * pdf), as: V.self)
                i += 8
            }
            for j in i..<range.upperBound { d[j] = Float(Double(d[j]) * referenceGELUDerivative(Double(x[j]))) }
        }
    }

    /// Plain reference: 0.5·x·(1 + erf(x/√2)) in Double.
    public static func referenceGELU(_ v: Double) -> Double { 0.5 * v * (1 + Foundation.erf(v * 0.7071067811865476)) }

    /// Plain reference: Φ(x) + x·φ(x) in Double.
    public static func referenceGELUDerivative(_ v: Double) -> Double {
        0.5 * (1 + Foundation.erf(v * 0.7071067811865476)) + v * Foundation.exp(-0.5 * v * v) * 0.3989422804014327
    }
}
