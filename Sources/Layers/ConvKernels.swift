import Tensors

// Fast convolution passes: im2col + sgemm (forward, backward-weight) and sgemm + col2im
// (backward-data). Images are processed in groups of `gs` whose columns sit side by side in one
// im2col matrix [C·k·k, gs·Ho·Wo], so that tiny feature maps (4x4) still give wide GEMMs.
// When there are at least as many groups as threads, groups run in parallel with OpenBLAS on
// one thread each (no oversubscription); otherwise groups run in turn with threaded OpenBLAS.
// The direct loops in ConvReference.swift are the reference these are tested against.

/// Knobs of the fast convolution (exposed for `sidenet bench kernels`).
public enum ConvTuning {
    /// Minimum GEMM width (columns = images per group × Ho·Wo) before images are grouped.
    nonisolated(unsafe) public static var minColumns = 256
}

struct ConvPlan {
    let imagesPerGroup: Int
    let groups: Int
    let parallel: Bool

    init(_ g: ConvGeometry) {
        let hw = g.ho * g.wo
        let gs = Swift.max(1, Swift.min(g.n, (ConvTuning.minColumns + hw - 1) / Swift.max(1, hw)))
        imagesPerGroup = gs
        groups = (g.n + gs - 1) / gs
        parallel = Threads.count > 1 && groups >= Threads.count
    }

    func images(ofGroup i: Int, n: Int) -> Range<Int> { (i * imagesPerGroup)..<Swift.min(n, (i + 1) * imagesPerGroup) }

    /// Runs `body(chunk, groupRange)` over the groups, parallel or not, with BLAS threads set accordingly.
    func run(_ body: (Int, Range<Int>) -> Void) {
        if parallel {
            withBLASThreads(1) { parallelChunks(groups, body) }
        } else {
            body(0, 0..<groups)
        }
    }
    var chunks: Int { parallel ? plannedChunks(groups) : 1 }

    /// Per-image copies (im2col, col2im, gathers) of one group: on all threads when groups run
    /// in turn (the BLAS call is the only other threaded part), serially inside a parallel group.
    func eachImage(_ count: Int, _ body: (Int) -> Void) {
        if parallel || count == 1 { for j in 0..<count { body(j) } } else { parallelFor(count) { r in for j in r { body(j) } } }
    }
}

@inline(__always) private func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

/// Output columns ox whose input column ox·s-p+kx lies inside [0, w).
@inline(__always) private func validRange(_ g: ConvGeometry, _ kx: Int, _ size: Int, _ outSize: Int) -> Range<Int> {
    let lo = Swift.max(0, floorDiv(g.padding - kx + g.stride - 1, g.stride))
    let hi = Swift.min(outSize, floorDiv(size - 1 + g.padding - kx, g.stride) + 1)
    return lo < hi ? lo..<hi : 0..<0
}

/// One image x [C,H,W] -> columns dst[(c,ky,kx), oy·Wo+ox] with row stride `ld`.
func im2col(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let (k, s, p, h, w, ho, wo) = (g.k, g.stride, g.padding, g.h, g.w, g.ho, g.wo)
    for c in 0..<g.c {
        for ky in 0..<k {
            let yr = validRange(g, ky, h, ho)
            for kx in 0..<k {
                let row = dst + ((c * k + ky) * k + kx) * ld
                let xr = validRange(g, kx, w, wo)
                for oy in 0..<ho {
                    let drow = row + oy * wo
                    if !yr.contains(oy) || xr.isEmpty { drow.update(repeating: 0, count: wo); continue }
                    if xr.lowerBound > 0 { drow.update(repeating: 0, count: xr.lowerBound) }
                    if xr.upperBound < wo { (drow + xr.upperBound).update(repeating: 0, count: wo - xr.upperBound) }
                    let srow = src + (c * h + oy * s - p + ky) * w - p + kx
                    if s == 1 {
                        (drow + xr.lowerBound).update(from: srow + xr.lowerBound, count: xr.count)
                    } else {
                        for ox in xr { drow[ox] = srow[ox * s] }
                    }
                }
            }
        }
    }
}

/// Adds columns src[(c,ky,kx), oy·Wo+ox] (row stride `ld`) back into one image dx [C,H,W].
func col2im(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let (k, s, p, h, w, ho, wo) = (g.k, g.stride, g.padding, g.h, g.w, g.ho, g.wo)
    for c in 0..<g.c {
        for ky in 0..<k {
            let yr = validRange(g, ky, h, ho)
            for kx in 0..<k {
                let row = src + ((c * k + ky) * k + kx) * ld
                let xr = validRange(g, kx, w, wo)
                if xr.isEmpty { continue }
                for oy in yr {
                    let srow = row + oy * wo
                    let drow = dst + (c * h + oy * s - p + ky) * w - p + kx
                    if s == 1 {
                        for ox in xr { drow[ox] += srow[ox] }
                    } else {
                        for ox in xr { drow[ox * s] += srow[ox] }
                    }
                }
            }
        }
    }
}

/// Fast forward. x [N,C,H,W], weight [O,C,k,k], bias [O] -> y [N,O,Ho,Wo].
public func conv2dForward(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1] && weight.shape[2] == weight.shape[3],
                 "conv2d: input \(x.shape) and weight \(weight.shape) do not fit")
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                         o: weight.shape[0], k: weight.shape[2], stride: stride, padding: padding)
    let plan = ConvPlan(g)
    let hw = g.ho * g.wo, chw = g.c * g.h * g.w, ohw = g.o * hw
    let direct1x1 = g.k == 1 && stride == 1 && padding == 0
    var y = Tensor(zeros: g.outputShape)
    x.data.withUnsafeBufferPointer { px in weight.data.withUnsafeBufferPointer { pw in y.data.withUnsafeMutableBufferPointer { py in
        let xp = px.baseAddress!, wp = pw.baseAddress!, yp = py.baseAddress!
        plan.run { _, groupRange in
            let gs = plan.imagesPerGroup, cols = gs * hw
            var colBuf = [Float](repeating: 0, count: (direct1x1 && gs == 1) ? 0 : g.ckk * cols)
            var tmp = [Float](repeating: 0, count: gs > 1 ? g.o * cols : 0)
            colBuf.withUnsafeMutableBufferPointer { cb in tmp.withUnsafeMutableBufferPointer { tb in
                for gi in groupRange {
                    let imgs = plan.images(ofGroup: gi, n: g.n)
                    if imgs.count == 1 {
                        let n = imgs.lowerBound
                        let b: UnsafePointer<Float>
                        if direct1x1 { b = xp + n * chw } else { im2col(xp + n * chw, g, cb.baseAddress!, ld: hw); b = UnsafePointer(cb.baseAddress!) }
                        sgemm(m: g.o, n: hw, k: g.ckk, a: wp, b: b, c: yp + n * ohw)
                    } else {
                        let width = imgs.count * hw
                        let n0 = imgs.lowerBound, cbp = cb.baseAddress!, tbp = tb.baseAddress!
                        plan.eachImage(imgs.count) { j in im2col(xp + (n0 + j) * chw, g, cbp + j * hw, ld: width) }
                        sgemm(m: g.o, n: width, k: g.ckk, a: wp, b: cbp, c: tbp)
                        plan.eachImage(imgs.count) { j in
                            for o in 0..<g.o { (yp + (n0 + j) * ohw + o * hw).update(from: tbp + o * width + j * hw, count: hw) }
                        }
                    }
                }
            } }
        }
        if let bias {
            bias.data.withUnsafeBufferPointer { pb in
                parallelFor(g.n * g.o, minChunk: 64) { r in
                    for i in r { let b = pb[i % g.o], row = yp + i * hw; for t in 0..<hw { row[t] += b } }
                }
            }
        }
    } } }
    return y
}

/// Fast backward-data. dOut [N,O,Ho,Wo], weight [O,C,k,k] -> dx [N,C,H,W].
public func conv2dBackwardData(_ dOut: Tensor, weight: Tensor, inputShape: [Int], stride: Int, padding: Int) -> Tensor {
    let g = ConvGeometry(n: inputShape[0], c: inputShape[1], h: inputShape[2], w: inputShape[3],
                         o: weight.shape[0], k: weight.shape[2], stride: stride, padding: padding)
    precondition(dOut.shape == g.outputShape, "conv2d backward: dOut \(dOut.shape), expected \(g.outputShape)")
    let plan = ConvPlan(g)
    let hw = g.ho * g.wo, chw = g.c * g.h * g.w, ohw = g.o * hw
    let direct1x1 = g.k == 1 && stride == 1 && padding == 0
    var dx = Tensor(zeros: inputShape)
    dOut.data.withUnsafeBufferPointer { pd in weight.data.withUnsafeBufferPointer { pw in dx.data.withUnsafeMutableBufferPointer { px in
        let dp = pd.baseAddress!, wp = pw.baseAddress!, xp = px.baseAddress!
        plan.run { _, groupRange in
            let gs = plan.imagesPerGroup, cols = gs * hw
            var colBuf = [Float](repeating: 0, count: (direct1x1 && gs == 1) ? 0 : g.ckk * cols)
            var tmp = [Float](repeating: 0, count: gs > 1 ? g.o * cols : 0)
            colBuf.withUnsafeMutableBufferPointer { cb in tmp.withUnsafeMutableBufferPointer { tb in
                for gi in groupRange {
                    let imgs = plan.images(ofGroup: gi, n: g.n)
                    if imgs.count == 1 {
                        let n = imgs.lowerBound
                        if direct1x1 {
                            sgemm(transA: true, m: g.ckk, n: hw, k: g.o, a: wp, b: dp + n * ohw, c: xp + n * chw)
                        } else {
                            sgemm(transA: true, m: g.ckk, n: hw, k: g.o, a: wp, b: dp + n * ohw, c: cb.baseAddress!)
                            col2im(cb.baseAddress!, g, xp + n * chw, ld: hw)
                        }
                    } else {
                        let width = imgs.count * hw
                        let n0 = imgs.lowerBound, cbp = cb.baseAddress!, tbp = tb.baseAddress!
                        plan.eachImage(imgs.count) { j in
                            for o in 0..<g.o { (tbp + o * width + j * hw).update(from: dp + (n0 + j) * ohw + o * hw, count: hw) }
                        }
                        sgemm(transA: true, m: g.ckk, n: width, k: g.o, a: wp, b: tbp, c: cbp)
                        plan.eachImage(imgs.count) { j in col2im(cbp + j * hw, g, xp + (n0 + j) * chw, ld: width) }
                    }
                }
            } }
        }
    } } }
    return dx
}

/// Fast backward-weight: dWeight [O,C,k,k] += Σ_n dOut[n] · im2col(x[n])ᵀ.
public func conv2dBackwardWeight(_ dOut: Tensor, input x: Tensor, kernelSize k: Int, stride: Int, padding: Int,
                                 into dWeight: inout Tensor) {
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                         o: dOut.shape[1], k: k, stride: stride, padding: padding)
    precondition(dOut.shape == g.outputShape && dWeight.shape == [g.o, g.c, k, k],
                 "conv2d backward-weight: dOut \(dOut.shape), dWeight \(dWeight.shape) for input \(x.shape)")
    let plan = ConvPlan(g)
    let hw = g.ho * g.wo, chw = g.c * g.h * g.w, ohw = g.o * hw
    let direct1x1 = g.k == 1 && stride == 1 && padding == 0
    let wsize = g.o * g.ckk
    // Chunk 0 accumulates straight into dWeight; the other chunks into private partial sums.
    var partial = [Float](repeating: 0, count: wsize * (plan.chunks - 1))
    dOut.data.withUnsafeBufferPointer { pd in x.data.withUnsafeBufferPointer { px in
    partial.withUnsafeMutableBufferPointer { pp in dWeight.data.withUnsafeMutableBufferPointer { pdw in
        let dp = pd.baseAddress!, xp = px.baseAddress!, dwp = pdw.baseAddress!
        plan.run { chunk, groupRange in
            let acc = chunk == 0 ? dwp : pp.baseAddress! + (chunk - 1) * wsize
            let gs = plan.imagesPerGroup, cols = gs * hw
            var colBuf = [Float](repeating: 0, count: (direct1x1 && gs == 1) ? 0 : g.ckk * cols)
            var tmp = [Float](repeating: 0, count: gs > 1 ? g.o * cols : 0)
            colBuf.withUnsafeMutableBufferPointer { cb in tmp.withUnsafeMutableBufferPointer { tb in
                for gi in groupRange {
                    let imgs = plan.images(ofGroup: gi, n: g.n)
                    if imgs.count == 1 {
                        let n = imgs.lowerBound
                        let b: UnsafePointer<Float>
                        if direct1x1 { b = xp + n * chw } else { im2col(xp + n * chw, g, cb.baseAddress!, ld: hw); b = UnsafePointer(cb.baseAddress!) }
                        sgemm(transB: true, m: g.o, n: g.ckk, k: hw, a: dp + n * ohw, b: b, beta: 1, c: acc)
                    } else {
                        let width = imgs.count * hw
                        let n0 = imgs.lowerBound, cbp = cb.baseAddress!, tbp = tb.baseAddress!
                        plan.eachImage(imgs.count) { j in
                            im2col(xp + (n0 + j) * chw, g, cbp + j * hw, ld: width)
                            for o in 0..<g.o { (tbp + o * width + j * hw).update(from: dp + (n0 + j) * ohw + o * hw, count: hw) }
                        }
                        sgemm(transB: true, m: g.o, n: g.ckk, k: width, a: tbp, b: cbp, beta: 1, c: acc)
                    }
                }
            } }
        }
        for ch in 0..<(plan.chunks - 1) {
            let src = pp.baseAddress! + ch * wsize
            for i in 0..<wsize { dwp[i] += src[i] }
        }
    } } } }
}

/// dBias [O] += Σ_{n,oy,ox} dOut[n,o,oy,ox].
public func conv2dBackwardBias(_ dOut: Tensor, into dBias: inout Tensor) {
    let (n, o) = (dOut.shape[0], dOut.shape[1])
    let hw = dOut.count / Swift.max(1, n * o)
    dOut.data.withUnsafeBufferPointer { pd in
        for i in 0..<(n * o) {
            var s: Float = 0
            let row = pd.baseAddress! + i * hw
            for t in 0..<hw { s += row[t] }
            dBias.data[i % o] += s
        }
    }
}
