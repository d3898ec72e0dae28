import Foundation

/// Plain-loop references of `AttentionKernels` (Double accumulation, libm exp), same layouts:
/// q, k, v, out and gradients [B·T, D] tightly packed (ld = D = H·headDim), keyBias [B, T],
/// dropMask / probs [B, H, T, T]. Used only by the tests holding the fast kernels equal to them.
public enum AttentionReference {
    /// Returns (out [B·T, D], probs [B, H, T, T]).
    public static func forward(q: [Float], k: [Float], v: [Float], keyBias: [Float]?, dropMask: [Float]?,
                               shape s: AttentionShape) -> (out: [Float], probs: [Float]) {
        let (b, t, h, hd) = (s.batch, s.length, s.heads, s.headDim), d = h * hd
        var out = [Float](repeating: 0, count: b * t * d), probs = [Float](repeating: 0, count: s.probsCount)
        for bi in 0..<b {
            for hh in 0..<h {
                let pBase = (bi * h + hh) * t * t
                for i in 0..<t {
                    var row = [Double](repeating: 0, count: t)
                    for j in 0..<t {
                        var acc = 0.0
                        for c in 0..<hd { acc += Double(q[(bi * t + i) * d + hh * hd + c]) * Double(k[(bi * t + j) * d + hh * hd + c]) }
                        row[j] = Double(Float(acc) * s.scale) + Double(keyBias?[bi * t + j] ?? 0)
                    }
                    let mx = row.max()!
                    let e = row.map { Foundation.exp($0 - mx) }
                    let sum = e.reduce(0, +)
                    for j in 0..<t { probs[pBase + i * t + j] = Float(e[j] / sum) }
                    for c in 0..<hd {
                        var acc = 0.0
                        for j in 0..<t {
                            let pj = Double(probs[pBase + i * t + j]) * Double(dropMask?[pBase + i * t + j] ?? 1)
                            acc += pj * Double(v[(bi * t + j) * d + hh * hd + c])
                        }
                        out[(bi * t + i) * d + hh * hd + c] = Float(acc)
                    }
                }
            }
        }
        return (out, probs)
    }

    /// Returns (dq, dk, dv), each [B·T, D].
    public static func backward(dOut: [Float], q: [Float], k: [Float], v: [Float], probs: [Float], dropMask: [Float]?,
                                shape s: AttentionShape) -> (dq: [Float], dk: [Float], dv: [Float]) {
        let (b, t, h, hd) = (s.batch, s.length, s.heads, s.headDim), d = h * hd
        var dq = [Float](repeating: 0, count: b * t * d), dk = dq, dv = dq
        for bi in 0..<b {
            for hh in 0..<h {
                let pBase = (bi * h + hh) * t * t
                func at(_ a: [Float], _ row: Int, _ c: Int) -> Double { Double(a[(bi * t + row) * d + hh * hd + c]) }
                var ds = [Double](repeating: 0, count: t * t)
                for i in 0..<t {
                    var dpRow = [Double](repeating: 0, count: t)
                    for j in 0..<t {
                        var acc = 0.0
                        for c in 0..<hd { acc += at(dOut, i, c) * at(v, j, c) }
                        dpRow[j] = acc * Double(dropMask?[pBase + i * t + j] ?? 1)
                    }
                    var dot = 0.0
                    for j in 0..<t { dot += dpRow[j] * Double(probs[pBase + i * t + j]) }
                    for j in 0..<t { ds[i * t + j] = Double(probs[pBase + i * t + j]) * (dpRow[j] - dot) }
                }
                for j in 0..<t {
                    for c in 0..<hd {
                        var accV = 0.0, accK = 0.0
                        for i in 0..<t {
                            let pd = Double(probs[pBase + i * t + j]) * Double(dropMask?[pBase + i * t + j] ?? 1)
                            accV += pd * at(dOut, i, c)
                            accK += ds[i * t + j] * at(q, i, c)
                        }
                        dv[(bi * t + j) * d + hh * hd + c] = Float(accV)
                        dk[(bi * t + j) * d + hh * hd + c] = Float(accK) * s.scale
                    }
                }
                for i in 0..<t {
                    for c in 0..<hd {
                        var acc = 0.0
                        for j in 0..<t { acc += ds[i * t + j] * at(k, j, c) }
                        dq[(bi * t + i) * d + hh * hd + c] = Float(acc) * s.scale
                    }
                }
            }
        }
        return (dq, dk, dv)
    }
}
