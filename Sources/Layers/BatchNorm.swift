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

    private var cachedXHat: Tensor?          // normalised input, same shape as x
    private var cachedInvStd: [Float] = []   // per channel 1/√(var + eps) used in forward
    private var cachedMode: Mode = .train

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
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let (n, c, inner) = dims(x)
        let count = n * inner
        var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
        if mode == .train {
            precondition(count > 1, "BatchNorm(\(numFeatures)): training needs more than 1 value per channel, got input \(x.shape)")
            var unbiased = [Float](repeating: 0, count: c)
            x.data.withUnsafeBufferPointer { px in mean.withUnsafeMutableBufferPointer { pm in
            invStd.withUnsafeMutableBufferPointer { pi in unbiased.withUnsafeMutableBufferPointer { pu in
                let (xb, mb, ib, ub) = (px.baseAddress!, pm.baseAddress!, pi.baseAddress!, pu.baseAddress!)
                // Per channel: rows summed in Float (vectorised), rows accumulated in Double.
                parallelFor(c) { r in
                    for ch in r {
                        var s = 0.0
                        for i in 0..<n {
                            let row = xb + (i * c + ch) * inner
                            var rs: Float = 0
                            for t in 0..<inner { rs += row[t] }
                            s += Double(rs)
                        }
                        let m = s / Double(count), mf = Float(m)
                        var v = 0.0
                        for i in 0..<n {
                            let row = xb + (i * c + ch) * inner
                            var rv: Float = 0
                            for t in 0..<inner { let d = row[t] - mf; rv += d * d }
                            v += Double(rv)
                        }
                        // Correct for mean rounding: Σ(x − m)² = Σ(x − mf)² − count·(mf − m)².
                        v = max(0, v - Double(count) * (Double(mf) - m) * (Double(mf) - m))
                        mb[ch] = mf
                        ib[ch] = Float(1 / (v / Double(count) + Double(eps)).squareRoot())
                        ub[ch] = Float(v / Double(count - 1))
                    }
                }
            } } } }
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
        var xhat = Tensor(zeros: x.shape)
        var y = Tensor(zeros: x.shape)
        x.data.withUnsafeBufferPointer { px in xhat.data.withUnsafeMutableBufferPointer { ph in y.data.withUnsafeMutableBufferPointer { py in
            let xp = px.baseAddress!, hp = ph.baseAddress!, yp = py.baseAddress!
            parallelFor(n * c, minChunk: Swift.max(1, 16384 / Swift.max(1, inner))) { r in
                for i in r {
                    let ch = i % c, m = mean[ch], s = invStd[ch]
                    let gamma = weight.value.data[ch], beta = bias.value.data[ch]
                    for t in 0..<inner {
                        let h = (xp[i * inner + t] - m) * s
                        hp[i * inner + t] = h
                        yp[i * inner + t] = h * gamma + beta
                    }
                }
            }
        } } }
        cachedXHat = xhat
        cachedInvStd = invStd
        cachedMode = mode
        return y
    }

    // dOut [N, C, (H, W)] -> dx. Train: full batch-statistics gradient
    //   dx = invStd/m · (m·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)), dx̂ = dOut·γ, m = N·H·W;
    // eval: dx = dOut·γ·invStd. Both: dγ += Σ dOut·x̂, dβ += Σ dOut.
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let xhat = cachedXHat else { preconditionFailure("BatchNorm.backward called before forward") }
        precondition(dOut.shape == xhat.shape, "BatchNorm.backward: dOut \(dOut.shape), expected \(xhat.shape)")
        let (n, c, inner) = dims(xhat)
        let count = Float(n * inner)
        var sumD = [Float](repeating: 0, count: c), sumDX = [Float](repeating: 0, count: c)
        dOut.data.withUnsafeBufferPointer { pd in xhat.data.withUnsafeBufferPointer { ph in
        sumD.withUnsafeMutableBufferPointer { psd in sumDX.withUnsafeMutableBufferPointer { psx in
            let (db, hb, sdb, sxb) = (pd.baseAddress!, ph.baseAddress!, psd.baseAddress!, psx.baseAddress!)
            parallelFor(c) { r in
                for ch in r {
                    var s = 0.0, sx = 0.0
                    for i in 0..<n {
                        let o = (i * c + ch) * inner
                        var rs: Float = 0, rx: Float = 0
                        for t in 0..<inner { let d = db[o + t]; rs += d; rx += d * hb[o + t] }
                        s += Double(rs); sx += Double(rx)
                    }
                    sdb[ch] = Float(s); sxb[ch] = Float(sx)
                }
            }
        } } } }
        if !weight.frozen { for ch in 0..<c { weight.grad.data[ch] += sumDX[ch] } }
        if !bias.frozen { for ch in 0..<c { bias.grad.data[ch] += sumD[ch] } }
        var dx = Tensor(zeros: xhat.shape)
        let train = cachedMode == .train
        let invStd = cachedInvStd
        dOut.data.withUnsafeBufferPointer { pd in xhat.data.withUnsafeBufferPointer { ph in dx.data.withUnsafeMutableBufferPointer { px in
            let dp = pd.baseAddress!, hp = ph.baseAddress!, xp = px.baseAddress!
            parallelFor(n * c, minChunk: Swift.max(1, 16384 / Swift.max(1, inner))) { r in
                for i in r {
                    let ch = i % c, gamma = weight.value.data[ch], s = invStd[ch]
                    if train {
                        // dx̂ = γ·dOut; Σdx̂ = γ·sumD; Σdx̂·x̂ = γ·sumDX
                        let k = gamma * s / count
                        let a = sumD[ch], b = sumDX[ch]
                        for t in 0..<inner { let j = i * inner + t; xp[j] = k * (count * dp[j] - a - hp[j] * b) }
                    } else {
                        let k = gamma * s
                        for t in 0..<inner { let j = i * inner + t; xp[j] = k * dp[j] }
                    }
                }
            }
        } } }
        return dx
    }
}
