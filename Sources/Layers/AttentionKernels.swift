import Foundation
import Tensors

/// Layout of one multi-head attention call: B sequences of T tokens, H heads of width `headDim`.
/// Q, K, V (and their gradients) are row-major [B·T, ld] blocks whose head h occupies columns
/// h·headDim..<(h+1)·headDim, so one fused [B·T, 3D] projection can be passed as three pointers
/// with ld = 3D. Probabilities and dropout factors are [B, H, T, T].
public struct AttentionShape: Sendable, Equatable {
    public var batch, length, heads, headDim: Int
    public init(batch: Int, length: Int, heads: Int, headDim: Int) {
        self.batch = batch; self.length = length; self.heads = heads; self.headDim = headDim
    }
    public var probsCount: Int { batch * heads * length * length }
    public var scale: Float { 1 / Float(headDim).squareRoot() }
}

/// Fused attention kernels shared by `ScaledDotProductAttention` and the encoder blocks:
/// one (batch, head) pair per task, all pairs spread over the threads with single-threaded BLAS.
/// Reference: `referenceAttentionForward` (plain loops), tested in LayersTests/AttentionKernelTests.
public enum AttentionKernels {
    /// Per (b, h): S = scale·Q Kᵀ + keyBias[b] (additive, per key); P = softmax(S) → probs;
    /// out = (P ⊙ dropMask) V. keyBias [B, T] (0 or a large negative) may be nil; dropMask nil = none.
    public static func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                               keyBias: UnsafePointer<Float>?, dropMask: UnsafePointer<Float>?,
                               probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, ldo: Int,
                               shape s: AttentionShape) {
        let (t, hd, heads) = (s.length, s.headDim, s.heads)
        let tt = t * t
        withBLASThreads(1) {
            parallelChunks(s.batch * heads) { _, range in
                let dropped = UnsafeMutablePointer<Float>.allocate(capacity: dropMask == nil ? 0 : tt)
                defer { dropped.deallocate() }
                for bh in range {
                    let (bi, h) = (bh / heads, bh % heads)
                    let off = bi * t * ld + h * hd, oOff = bi * t * ldo + h * hd
                    let p = probs + bh * tt
                    // S [T, T] = scale · Q Kᵀ
                    sgemm(transB: true, m: t, n: t, k: hd, alpha: s.scale, a: q + off, lda: ld, b: k + off, ldb: ld, c: p)
                    softmaxRowsBiased(p, rows: t, cols: t, bias: keyBias.map { $0 + bi * t })
                    var pv = UnsafePointer(p)
                    if let dropMask {
                        multiply(p, dropMask + bh * tt, into: dropped, count: tt)
                        pv = UnsafePointer(dropped)
                    }
                    sgemm(m: t, n: hd, k: t, a: pv, b: v + off, ldb: ld, c: out + oOff, ldc: ldo)
                }
            }
        }
    }

    /// Backward of `forward` given dOut [B·T, ldo]: dV = P̃ᵀ dO; dP̃ = dO Vᵀ; dP = dP̃ ⊙ dropMask;
    /// dS = P ⊙ (dP − Σ_j dP·P); dQ = scale·dS K; dK = scale·dSᵀ Q (written, not accumulated).
    public static func backward(dOut: UnsafePointer<Float>, ldo: Int,
                                q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, ld: Int,
                                probs: UnsafePointer<Float>, dropMask: UnsafePointer<Float>?,
                                dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                                dv: UnsafeMutablePointer<Float>, ldd: Int, shape s: AttentionShape) {
        let (t, hd, heads) = (s.length, s.headDim, s.heads)
        let tt = t * t
        withBLASThreads(1) {
            parallelChunks(s.batch * heads) { _, range in
                let dp = UnsafeMutablePointer<Float>.allocate(capacity: tt)
                let dropped = UnsafeMutablePointer<Float>.allocate(capacity: dropMask == nil ? 0 : tt)
                defer { dp.deallocate(); dropped.deallocate() }
                for bh in range {
                    let (bi, h) = (bh / heads, bh % heads)
                    let off = bi * t * ld + h * hd, oOff = bi * t * ldo + h * hd, dOff = bi * t * ldd + h * hd
                    let p = probs + bh * tt
                    var pt = p
                    if let dropMask {
                        multiply(p, dropMask + bh * tt, into: dropped, count: tt)
                        pt = UnsafePointer(dropped)
                    }
                    sgemm(transA: true, m: t, n: hd, k: t, a: pt, b: dOut + oOff, ldb: ldo, c: dv + dOff, ldc: ldd)
                    sgemm(transB: true, m: t, n: t, k: hd, a: dOut + oOff, lda: ldo, b: v + off, ldb: ld, c: dp)
                    if let dropMask { multiply(dp, dropMask + bh * tt, into: dp, count: tt) }
                    softmaxBackwardRowsFast(p, dp, rows: t, cols: t)
                    sgemm(m: t, n: hd, k: t, alpha: s.scale, a: dp, b: k + off, ldb: ld, c: dq + dOff, ldc: ldd)
                    sgemm(transA: true, m: t, n: hd, k: t, alpha: s.scale, a: dp, b: q + off, ldb: ld, c: dk + dOff, ldc: ldd)
                }
            }
        }
    }

    /// out[i] = a[i]·b[i] (out may alias a).
    @inline(__always)
    static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 8 <= n {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: VectorMath.V.self) * UnsafeRawPointer(b + i).loadUnaligned(as: VectorMath.V.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: x, as: VectorMath.V.self)
            i += 8
        }
        while i < n { out[i] = a[i] * b[i]; i += 1 }
    }

    /// In place per row of [rows, cols]: softmax(row + bias) (bias [cols], additive; nil = none),
    /// the maximum subtracted first; exp vectorised.
    public static func softmaxRowsBiased(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>?) {
        typealias V = VectorMath.V
        let vec = cols / 8 * 8
        for r in 0..<rows {
            let row = p + r * cols
            if let bias { for j in 0..<cols { row[j] += bias[j] } }
            var mx = -Float.infinity
            for j in 0..<cols { mx = Swift.max(mx, row[j]) }
            var acc = V(repeating: 0)
            var j = 0
            while j < vec {
                let e = VectorMath.exp(UnsafeRawPointer(row + j).loadUnaligned(as: V.self) - mx)
                UnsafeMutableRawPointer(row + j).storeBytes(of: e, as: V.self)
                acc += e
                j += 8
            }
            var sum = acc.sum()
            while j < cols { let e = expf(row[j] - mx); row[j] = e; sum += e; j += 1 }
            let inv = 1 / sum
            for j in 0..<cols { row[j] *= inv }
        }
    }

    /// In place per row: d ← y·(d − Σ d·y).
    static func softmaxBackwardRowsFast(_ y: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        typealias V = VectorMath.V
        let vec = cols / 8 * 8
        for r in 0..<rows {
            let yr = y + r * cols, dr = d + r * cols
            var acc = V(repeating: 0)
            var j = 0
            while j < vec {
                acc += UnsafeRawPointer(yr + j).loadUnaligned(as: V.self) * UnsafeRawPointer(dr + j).loadUnaligned(as: V.self)
                j += 8
            }
            var dot = acc.sum()
            while j < cols { dot += yr[j] * dr[j]; j += 1 }
            for j in 0..<cols { dr[j] = yr[j] * (dr[j] - dot) }
        }
    }
}

/// Calls `body` with a pointer to the array's elements, or nil for a nil array.
@inline(__always)
public func withOptionalPointer<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let a else { return try body(nil) }
    return try a.withUnsafeBufferPointer { try body($0.baseAddress!) }
}
