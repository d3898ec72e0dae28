import Tensors

/// Batch normalisation, PyTorch `nn.BatchNorm1d` on [N, C] and `nn.BatchNorm2d` on [N, C, H, W]
/// (formats.md 9.3). Train: normalise with the biased batch variance, update running_mean and the
/// unbiased running_var with `momentum`, count num_batches_tracked. Eval: use running stats.
/// Parameters weight [C], bias [C]; buffers running_mean [C], running_var [C], num_batches_tracked [].
public final class BatchNorm: Module {
    public let numFeatures: Int
    public let eps: Float
    public let momentum: Float
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Buffer
    public let runningVar: Buffer
    public let numBatchesTracked: Buffer

    // What backward needs: the input (x̂ is recomputed from it), per channel mean and 1/√(var + eps),
    // and with a fused ReLU the output (its mask).
    private var cachedInput: Tensor?
    private var cachedMean: [Float] = []
    private var cachedInvStd: [Float] = []
    private var cachedOutput: Tensor?
    private var cachedMode: Mode = .train
    private var cachedResidual = false

    public init(numFeatures: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
        self.numFeatures = numFeatures
        self.eps = eps
        self.momentum = momentum
        weight = Parameter(Tensor(shape: [numFeatures], repeating: 1))
        bias = Parameter(Tensor(zeros: [numFeatures]))
        runningMean = Buffer(Tensor(zeros: [numFeatures]))
        runningVar = Buffer(Tensor(shape: [numFeatures], repeating: 1))
        numBatchesTracked = Buffer(Tensor(scalar: 0))
    }

    public func namedParameters() -> [(String, Parameter)] { [("weight", weight), ("bias", bias)] }
    public func namedBuffers() -> [(String, Buffer)] {
        [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
    }

    /// (N, C, inner) view of [N, C] or [N, C, H, W].
    private func dims(_ x: Tensor) -> (Int, Int, Int) {
        precondition((x.rank == 2 || x.rank == 4) && x.shape[1] == numFeatures,
                     "BatchNorm(\(numFeatures)): input shape \(x.shape), expected [N, \(numFeatures)] or [N, \(numFeatures), H, W]")
        return (x.shape[0], numFeatures, x.rank == 4 ? x.shape[2] * x.shape[3] : 1)
    }

    // x [N, C, (H, W)] -> y same shape
    public func forward(_ x: Tensor, mode: Mode) -> Tensor { forward(x, mode: mode, residual: nil, relu: false) }

    /// Fused BatchNorm (+ residual) (+ ReLU) in one pass: y = max(0, BN(x) + residual), the same
    /// values as the separate layers (`add`, `ReLU`). x, residual, y [N, C, (H, W)].
    /// Backward: `backwardFused` (gives dResidual too) or `backward`.
    public func forward(_ x: Tensor, mode: Mode, residual: Tensor?, relu: Bool) -> Tensor {
        let (n, c, inner) = dims(x)
        if let residual { precondition(residual.shape == x.shape, "BatchNorm(\(numFeatures)): residual \(residual.shape), input \(x.shape)") }
        let count = n * inner
        var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
        if mode == .train {
            precondition(count > 1, "BatchNorm(\(numFeatures)): training needs more than 1 value per channel, got input \(x.shape)")
            let unbiased = batchStatistics(x, n: n, c: c, inner: inner, mean: &mean, invStd: &invStd)
            for ch in 0..<c {
                runningMean.value.data[ch] = (1 - momentum) * runningMean.value.data[ch] + momentum * mean[ch]
                runningVar.value.data[ch] = (1 - momentum) * runningVar.value.data[ch] + momentum * unbiased[ch]
            }
            numBatchesTracked.value.data[0] += 1
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean.value.data[ch]
                invStd[ch] = 1 / (runningVar.value.data[ch] + eps).squareRoot()
            }
        }
        var y = Tensor(uninitializedShape: x.shape)
        let gammas = weight.value.data, betas = bias.value.data
        let res = residual?.data ?? []
        x.data.withUnsafeBufferPointer { px in y.data.withUnsafeMutableBufferPointer { py in res.withUnsafeBufferPointer { pr in
            let xp = px.baseAddress!, yp = py.baseAddress!, rp = residual == nil ? nil : pr.baseAddress
            parallelFor(n * c, minChunk: Swift.max(1, 16384 / Swift.max(1, inner))) { r in
                for i in r {
                    let ch = i % c, m = mean[ch], s = invStd[ch], gamma = gammas[ch], beta = betas[ch]
                    let xr = xp + i * inner, yr = yp + i * inner
                    if let rp {
                        let rr = rp + i * inner
                        if relu {
                            for t in 0..<inner { yr[t] = Swift.max(0, ((xr[t] - m) * s * gamma + beta) + rr[t]) }
                        } else {
                            for t in 0..<inner { yr[t] = ((xr[t] - m) * s * gamma + beta) + rr[t] }
                        }
                    } else if relu {
                        for t in 0..<inner { yr[t] = Swift.max(0, (xr[t] - m) * s * gamma + beta) }
                    } else {
                        for t in 0..<inner { yr[t] = (xr[t] - m) * s * gamma + beta }
                    }
                }
            }
        } } }
        cachedInput = x
        cachedMean = mean
        cachedInvStd = invStd
        cachedOutput = relu ? y : nil
        cachedResidual = residual != nil
        cachedMode = mode
        return y
    }

    /// Train-mode statistics of x [N, C, (H, W)] per channel: the mean and 1/sqrt(biased var + eps)
    /// into `mean` / `invStd` [C]; returns the unbiased variance [C] (for the running estimate).
    private func batchStatistics(_ x: Tensor, n: Int, c: Int, inner: Int, mean: inout [Float],
                                 invStd: inout [Float]) -> [Float] {
        let count = n * inner
        var unbiased = [Float](repeating: 0, count: c)
        x.data.withUnsafeBufferPointer { px in mean.withUnsafeMutableBufferPointer { pm in
        invStd.withUnsafeMutableBufferPointer { pi in unbiased.withUnsafeMutableBufferPointer { pu in
            let (xb, mb, ib, ub) = (px.baseAddress!, pm.baseAddress!, pi.baseAddress!, pu.baseAddress!)
            // Per channel: rows summed in Float (vectorised), rows accumulated in Double.
            // Images outer, the chunk's channels inner: one forward sweep through memory.
            parallelFor(c) { r in
                let lo = r.lowerBound
                var sums = [Double](repeating: 0, count: r.count), means = [Float](repeating: 0, count: r.count)
                let vec = BatchNormTuning.vectorRows ? (r.count / BatchNormRows.width) * BatchNormRows.width : 0
                for i in 0..<n {
                    for ch in stride(from: lo, to: lo + vec, by: BatchNormRows.width) {
                        let s = BatchNormRows.sums(xb + (i * c + ch) * inner, inner: inner)
                        for l in 0..<BatchNormRows.width { sums[ch - lo + l] += Double(s[l]) }
                    }
                    for ch in (lo + vec)..<r.upperBound {
                        let row = xb + (i * c + ch) * inner
                        var rs: Float = 0
                        for t in 0..<inner { rs += row[t] }
                        sums[ch - lo] += Double(rs)
                    }
                }
                for ch in r { means[ch - lo] = Float(sums[ch - lo] / Double(count)) }
                var sq = [Double](repeating: 0, count: r.count)
                for i in 0..<n {
                    for ch in stride(from: lo, to: lo + vec, by: BatchNormRows.width) {
                        let mv = means.withUnsafeBufferPointer { BatchNormRows.load($0.baseAddress! + ch - lo) }
                        let s = BatchNormRows.squares(xb + (i * c + ch) * inner, inner: inner, mean: mv)
                        for l in 0..<BatchNormRows.width { sq[ch - lo + l] += Double(s[l]) }
                    }
                    for ch in (lo + vec)..<r.upperBound {
                        let row = xb + (i * c + ch) * inner, mf = means[ch - lo]
                        var rv: Float = 0
                        for t in 0..<inner { let d = row[t] - mf; rv += d * d }
                        sq[ch - lo] += Double(rv)
                    }
                }
                for ch in r {
                    let m = sums[ch - lo] / Double(count), mf = means[ch - lo]
                    // Correct for mean rounding: Σ(x − m)² = Σ(x − mf)² − count·(mf − m)².
                    let v = max(0, sq[ch - lo] - Double(count) * (Double(mf) - m) * (Double(mf) - m))
                    mb[ch] = mf
                    ib[ch] = Float(1 / (v / Double(count) + Double(eps)).squareRoot())
                    ub[ch] = Float(v / Double(count - 1))
                }
            }
        } } } }
        return unbiased
    }

    // dOut [N, C, (H, W)] -> dx. Train: full batch-statistics gradient
    //   dx = invStd/m · (m·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)), dx̂ = dOut·γ, m = N·H·W;
    // eval: dx = dOut·γ·invStd. Both: dγ += Σ dOut·x̂, dβ += Σ dOut.
    // After a fused ReLU forward, dOut is first masked by y > 0.
    public func backward(_ dOut: Tensor) -> Tensor { backwardFused(dOut).dx }

    /// Backward of the fused forward: dx for the BatchNorm input, and the gradient of the residual
    /// (dOut masked by the ReLU; nil when the forward had no residual).
    public func backwardFused(_ dOut: Tensor) -> (dx: Tensor, dResidual: Tensor?) {
        guard let x = cachedInput else { preconditionFailure("BatchNorm.backward called before forward") }
        precondition(dOut.shape == x.shape, "BatchNorm.backward: dOut \(dOut.shape), expected \(x.shape)")
        let (n, c, inner) = dims(x)
        // The ReLU mask (y > 0) is applied on the fly; dOut masked is materialised only when it
        // is also the residual's gradient.
        var d = dOut, mask: Tensor? = cachedOutput
        if let y = cachedOutput, cachedResidual {
            d = Tensor(uninitializedShape: dOut.shape)
            dOut.data.withUnsafeBufferPointer { pg in y.data.withUnsafeBufferPointer { py in d.data.withUnsafeMutableBufferPointer { pd in
                let gb = pg.baseAddress!, yb = py.baseAddress!, db = pd.baseAddress!
                let vector = BatchNormTuning.vectorRows
                parallelFor(pd.count, minChunk: 65536) { r in
                    if vector { BatchNormRows.maskedCopy(d: gb, y: yb, out: db, r) } else { for i in r { db[i] = yb[i] > 0 ? gb[i] : 0 } }
                }
            } } }
            mask = nil
        }
        let count = Float(n * inner)
        let mean = cachedMean, invStd = cachedInvStd
        var sumD = [Float](repeating: 0, count: c), sumDX = [Float](repeating: 0, count: c)
        let maskData = mask?.data ?? []
        d.data.withUnsafeBufferPointer { pd in x.data.withUnsafeBufferPointer { px in maskData.withUnsafeBufferPointer { pm in
        sumD.withUnsafeMutableBufferPointer { psd in sumDX.withUnsafeMutableBufferPointer { psx in
        mean.withUnsafeBufferPointer { pmean in invStd.withUnsafeBufferPointer { pinv in
            let (db, xb, sdb, sxb) = (pd.baseAddress!, px.baseAddress!, psd.baseAddress!, psx.baseAddress!)
            let (mb, ib) = (pmean.baseAddress!, pinv.baseAddress!)
            let yb = mask == nil ? nil : pm.baseAddress
            // images outer, the chunk's channels inner (one forward sweep through memory)
            parallelFor(c) { r in
                let lo = r.lowerBound
                var s = [Double](repeating: 0, count: r.count), sx = [Double](repeating: 0, count: r.count)
                let vec = BatchNormTuning.vectorRows ? (r.count / BatchNormRows.width) * BatchNormRows.width : 0
                for i in 0..<n {
                    for ch in stride(from: lo, to: lo + vec, by: BatchNormRows.width) {
                        let o = (i * c + ch) * inner, w = BatchNormRows.width
                        let mv = BatchNormRows.load(mb + ch), sv = BatchNormRows.load(ib + ch)
                        let (rs, rx) = BatchNormRows.gradientSums(d: db + o, x: xb + o, y: yb.map { $0 + o },
                                                                  inner: inner, mean: mv, invStd: sv)
                        for l in 0..<w { s[ch - lo + l] += Double(rs[l]); sx[ch - lo + l] += Double(rx[l]) }
                    }
                    for ch in (lo + vec)..<r.upperBound {
                        let m = mean[ch], sd = invStd[ch], o = (i * c + ch) * inner
                        var rs: Float = 0, rx: Float = 0
                        if let yb {
                            for t in 0..<inner { let g = yb[o + t] > 0 ? db[o + t] : 0; rs += g; rx += g * ((xb[o + t] - m) * sd) }
                        } else {
                            for t in 0..<inner { let g = db[o + t]; rs += g; rx += g * ((xb[o + t] - m) * sd) }
                        }
                        s[ch - lo] += Double(rs); sx[ch - lo] += Double(rx)
                    }
                }
                for ch in r { sdb[ch] = Float(s[ch - lo]); sxb[ch] = Float(sx[ch - lo]) }
            }
        } } } } } } }
        if !weight.frozen { for ch in 0..<c { weight.grad.data[ch] += sumDX[ch] } }
        if !bias.frozen { for ch in 0..<c { bias.grad.data[ch] += sumD[ch] } }
        var dx = Tensor(uninitializedShape: x.shape)
        let train = cachedMode == .train
        let gammas = weight.value.data
        d.data.withUnsafeBufferPointer { pd in x.data.withUnsafeBufferPointer { ph in maskData.withUnsafeBufferPointer { pm in
        dx.data.withUnsafeMutableBufferPointer { px in
            let dp = pd.baseAddress!, xp = ph.baseAddress!, op = px.baseAddress!
            let yb = mask == nil ? nil : pm.baseAddress
            let vector = train && BatchNormTuning.vectorRows
            let ks = vector ? (0..<c).map { gammas[$0] * invStd[$0] / count } : []
            parallelFor(n * c, minChunk: Swift.max(1, 16384 / Swift.max(1, inner))) { r in
                if vector {
                    BatchNormRows.trainInputGradient(rows: r, c: c, inner: inner, d: dp, x: xp, y: yb, out: op,
                                                     k: ks, count: count, a: sumD, m: mean, s: invStd, b: sumDX)
                    return
                }
                for i in r {
                    let ch = i % c, gamma = gammas[ch], s = invStd[ch], m = mean[ch]
                    let dr = dp + i * inner, xr = xp + i * inner, orow = op + i * inner
                    if train {
                        // dx̂ = γ·dOut; Σdx̂ = γ·sumD; Σdx̂·x̂ = γ·sumDX
                        let k = gamma * s / count
                        let a = sumD[ch], b = sumDX[ch]
                        if let yb {
                            let yr = yb + i * inner
                            for t in 0..<inner { let g = yr[t] > 0 ? dr[t] : 0; orow[t] = k * (count * g - a - ((xr[t] - m) * s) * b) }
                        } else {
                            for t in 0..<inner { orow[t] = k * (count * dr[t] - a - ((xr[t] - m) * s) * b) }
                        }
                    } else {
                        let k = gamma * s
                        if let yb {
                            let yr = yb + i * inner
                            for t in 0..<inner { orow[t] = k * (yr[t] > 0 ? dr[t] : 0) }
                        } else {
                            for t in 0..<inner { orow[t] = k * dr[t] }
                        }
                    }
                }
            }
        } } } }
        return (dx, cachedResidual ? d : nil)
    }
}
