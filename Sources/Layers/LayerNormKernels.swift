import Tensors

/// LayerNorm row kernels (SIMD8 over the feature dimension, rows spread over the threads) and
/// their plain references. Layout: rows × dim, row-major; invStd [rows].
public enum LayerNormKernels {
    typealias V = VectorMath.V

    /// z = x (+ residual); x̂ = (z − mean)·invStd; y = x̂·γ + β, per row.
    public static func forward(x: UnsafePointer<Float>, residual: UnsafePointer<Float>?, rows: Int, dim: Int, eps: Float,
                               gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                               xhat: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
                               y: UnsafeMutablePointer<Float>) {
        let vec = dim / 8 * 8
        parallelFor(rows, minChunk: 32) { range in
            for i in range {
                let xr = x + i * dim, hr = xhat + i * dim, yr = y + i * dim
                // z into x̂ (the residual sum is formed once, in place)
                if let residual {
                    let rr = residual + i * dim
                    for j in 0..<dim { hr[j] = xr[j] + rr[j] }
                } else {
                    hr.update(from: xr, count: dim)
                }
                var acc = V(repeating: 0)
                var j = 0
                while j < vec { acc += load(hr + j); j += 8 }
                var s = acc.sum()
                while j < dim { s += hr[j]; j += 1 }
                let mean = s / Float(dim)
                acc = V(repeating: 0); j = 0
                while j < vec { let d = load(hr + j) - mean; acc += d * d; j += 8 }
                var v = acc.sum()
                while j < dim { let d = hr[j] - mean; v += d * d; j += 1 }
                let inv = 1 / (v / Float(dim) + eps).squareRoot()
                invStd[i] = inv
                for j in 0..<dim {
                    let h = (hr[j] - mean) * inv
                    hr[j] = h
                    yr[j] = h * gamma[j] + beta[j]
                }
            }
        }
    }

    /// dx = invStd/D·(D·g − Σg − x̂·Σ(g·x̂)), g = dOut·γ, per row; dγ += Σ_rows dOut·x̂ and
    /// dβ += Σ_rows dOut when their pointers are given (per-thread partial sums, then added).
    public static func backward(dOut: UnsafePointer<Float>, xhat: UnsafePointer<Float>, invStd: UnsafePointer<Float>,
                                gamma: UnsafePointer<Float>, rows: Int, dim: Int, dx: UnsafeMutablePointer<Float>,
                                dGamma: UnsafeMutablePointer<Float>?, dBeta: UnsafeMutablePointer<Float>?) {
        let chunks = plannedChunks(rows)
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * 2 * dim)
        partial.initialize(repeating: 0, count: chunks * 2 * dim)
        defer { partial.deallocate() }
        let vec = dim / 8 * 8
        parallelChunks(rows) { c, range in
            let pg = partial + c * 2 * dim, pb = pg + dim
            for i in range {
                let dr = dOut + i * dim, hr = xhat + i * dim, xr = dx + i * dim
                var accA = V(repeating: 0), accB = V(repeating: 0)
                var j = 0
                while j < vec {
                    let d = load(dr + j), h = load(hr + j)
                    let g = d * load(gamma + j)
                    accA += g; accB += g * h
                    store(load(pg + j) + d * h, pg + j)
                    store(load(pb + j) + d, pb + j)
                    j += 8
                }
                var a = accA.sum(), b = accB.sum()
                while j < dim {
                    let d = dr[j], h = hr[j], g = d * gamma[j]
                    a += g; b += g * h; pg[j] += d * h; pb[j] += d
                    j += 1
                }
                let k = invStd[i] / Float(dim), fd = Float(dim)
                for j in 0..<dim { xr[j] = k * (fd * dr[j] * gamma[j] - a - hr[j] * b) }
            }
        }
        for c in 0..<chunks {
            let pg = partial + c * 2 * dim, pb = pg + dim
            if let dGamma { for j in 0..<dim { dGamma[j] += pg[j] } }
            if let dBeta { for j in 0..<dim { dBeta[j] += pb[j] } }
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    // MARK: plain references (Double accumulation)

    /// Returns (y, x̂, invStd) of LayerNorm(x + residual) over rows of `dim`.
    public static func referenceForward(x: [Float], residual: [Float]?, dim: Int, eps: Float, gamma: [Float], beta: [Float])
        -> (y: [Float], xhat: [Float], invStd: [Float]) {
        let rows = x.count / dim
        var y = [Float](repeating: 0, count: x.count), xhat = y, invStd = [Float](repeating: 0, count: rows)
        for i in 0..<rows {
            let z = (0..<dim).map { Double(x[i * dim + $0]) + Double(residual?[i * dim + $0] ?? 0) }
            let mean = z.reduce(0, +) / Double(dim)
            let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(dim)
            let inv = 1 / (variance + Double(eps)).squareRoot()
            invStd[i] = Float(inv)
            for j in 0..<dim {
                xhat[i * dim + j] = Float((z[j] - mean) * inv)
                y[i * dim + j] = Float((z[j] - mean) * inv * Double(gamma[j]) + Double(beta[j]))
            }
        }
        return (y, xhat, invStd)
    }

    /// Returns (dx, dγ, dβ) for dOut given the forward's x̂ and invStd.
    public static func referenceBackward(dOut: [Float], xhat: [Float], invStd: [Float], gamma: [Float], dim: Int)
        -> (dx: [Float], dGamma: [Float], dBeta: [Float]) {
        let rows = xhat.count / dim
        var dx = [Float](repeating: 0, count: dOut.count)
        var dg = [Double](repeating: 0, count: dim), db = dg
        for i in 0..<rows {
            var a = 0.0, b = 0.0
            for j in 0..<dim {
                let g = Double(dOut[i * dim + j]) * Double(gamma[j])
                a += g; b += g * Double(xhat[i * dim + j])
                dg[j] += Double(dOut[i * dim + j]) * Double(xhat[i * dim + j]); db[j] += Double(dOut[i * dim + j])
            }
            for j in 0..<dim {
                let g = Double(dOut[i * dim + j]) * Double(gamma[j])
                dx[i * dim + j] = Float(Double(invStd[i]) / Double(dim) * (Double(dim) * g - a - Double(xhat[i * dim + j]) * b))
            }
        }
        return (dx, dg.map { Float($0) }, db.map { Float($0) })
    }
}
