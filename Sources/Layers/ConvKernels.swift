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
    /// 3x3 stride-1 padding-1 layers on maps of at least 4x4 by Winograd F(2x2, 3x3)
    /// (ConvWinograd.swift); false: im2col + sgemm for every layer.
    nonisolated(unsafe) public static var winograd = true
    /// Backward-weight by Winograd too (when `winograd`). Off: measured slower than im2col +
    /// sgemm on ResNet shapes at 32x32 input (CPU time, 1 thread, batch 128, 64 channels on 8x8
    /// maps: 12.8 ms against 8.8 ms), its two transforms costing more than the GEMMs save.
    nonisolated(unsafe) public static var winogradWeightGradient = false
    /// Floats of skew between the 16 ξ planes of the F(2x2, 3x3) scratch (`Winograd.planeSkew`);
    /// 0: the planes back to back (the reference layout).
    nonisolated(unsafe) public static var winogradPlaneSkew = 16
}

struct ConvPlan {
    let imagesPerGroup: Int
    let groups: Int
    let parallel: Bool

    /// `columnsPerImage`: GEMM columns one image gives (Ho·Wo, or the smallest position class).
    /// `minColumns`: GEMM width below which images are grouped.
    init(_ g: ConvGeometry, columnsPerImage: Int, minColumns: Int = ConvTuning.minColumns) {
        let hw = Swift.max(1, columnsPerImage), threads = Threads.count
        var gs = Swift.max(1, Swift.min(g.n, (minColumns + hw - 1) / hw))
        var groups = (g.n + gs - 1) / gs
        // Balance the threads: a multiple of `threads` groups of near-equal size (a batch of 96
        // on 4x4 maps is 2 x 48 images, not 64 + 32), when each thread still gets a few columns.
        if threads > 1 && g.n >= threads && g.n * hw >= threads * 32 {
            groups = (groups + threads - 1) / threads * threads
            gs = (g.n + groups - 1) / groups
            groups = (g.n + gs - 1) / gs
        }
        imagesPerGroup = gs
        self.groups = groups
        parallel = threads > 1 && groups >= threads
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

/// Per-group scratch: im2col columns and GEMM output columns of the largest class.
private func scratch(_ g: ConvGeometry, _ layout: ConvTaps, _ gs: Int, direct1x1: Bool) -> ([Float], [Float]) {
    let cols = (direct1x1 && gs == 1) ? 0 : layout.maxColumnRows(g) * gs
    let tmp = (gs == 1 && layout.classes.count == 1) ? 0 : g.o * gs * layout.maxPositions
    return ([Float](unsafeUninitializedCapacity: cols) { $1 = $0.count }, [Float](unsafeUninitializedCapacity: tmp) { $1 = $0.count })
}

/// The group x class loop shared by the three passes: per chunk its scratch (im2col columns, GEMM
/// output columns), then body(chunk, images of the group, class, offset of the class's packed
/// weights, columns, tmp) for every group of the chunk and every class.
private func eachGroupClass(_ g: ConvGeometry, _ layout: ConvTaps, _ plan: ConvPlan, direct1x1: Bool,
                            _ body: (Int, Range<Int>, ConvClass, Int, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void) {
    plan.run { chunk, groupRange in
        var (colBuf, tmp) = scratch(g, layout, plan.imagesPerGroup, direct1x1: direct1x1)
        colBuf.withUnsafeMutableBufferPointer { cb in tmp.withUnsafeMutableBufferPointer { tb in
            for gi in groupRange {
                let imgs = plan.images(ofGroup: gi, n: g.n)
                var wbase = 0
                for cl in layout.classes { body(chunk, imgs, cl, wbase, cb.baseAddress, tb.baseAddress); wbase += g.o * g.c * cl.t }
            }
        } }
    }
}

/// Fast forward. x [N,C,H,W], weight [O,C,k,k], bias [O] -> y [N,O,Ho,Wo].
public func conv2dForward(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int) -> Tensor {
    conv2dForward(x, weight: weight, packed: nil, bias: bias, residual: nil, relu: false, stride: stride, padding: padding)
}

/// Fast forward with an epilogue applied to each output image as it lands (still in cache):
/// y = [max(0,] conv(x, weight) + bias[o] [+ residual][)]. x [N,C,H,W], weight [O,C,k,k], bias [O],
/// residual [N,O,Ho,Wo] -> y [N,O,Ho,Wo]. `packed`: the weight as `ConvTaps(g).pack` gives it
/// (cached by the caller), or nil to pack here when the layout needs it.
/// `packed` holds Winograd's U (`Winograd.transformWeight`) when the geometry takes that path.
func conv2dForward(_ x: Tensor, weight: Tensor, packed cached: [Float]?, bias: Tensor?, residual: Tensor?, relu: Bool,
                   stride: Int, padding: Int) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1] && weight.shape[2] == weight.shape[3],
                 "conv2d: input \(x.shape) and weight \(weight.shape) do not fit")
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                         o: weight.shape[0], k: weight.shape[2], stride: stride, padding: padding)
    if let residual { precondition(residual.shape == g.outputShape, "conv2d: residual \(residual.shape), output \(g.outputShape)") }
    if Winograd.applies(g) {
        return winogradConv(x, weight: weight, bias: bias, g, flip: false, transformed: cached, residual: residual, relu: relu)
    }
    let layout = ConvTaps(g), plan = ConvPlan(g, columnsPerImage: layout.minPositions)
    let hw = g.ho * g.wo, chw = g.c * g.h * g.w, ohw = g.o * hw
    let direct1x1 = g.k == 1 && stride == 1 && padding == 0
    let packed = layout.plain ? [] : cached ?? weight.data.withUnsafeBufferPointer { layout.pack($0.baseAddress!, g) }
    precondition(layout.plain || packed.count == layout.packedSize(g), "conv2d: packed weight of \(packed.count), expected \(layout.packedSize(g))")
    var y = Tensor(uninitializedShape: g.outputShape)   // every element written below
    let biasData = bias?.data ?? [], resData = residual?.data ?? []
    x.data.withUnsafeBufferPointer { px in weight.data.withUnsafeBufferPointer { pw0 in packed.withUnsafeBufferPointer { pk in
    biasData.withUnsafeBufferPointer { pb in resData.withUnsafeBufferPointer { pr in
    y.data.withUnsafeMutableBufferPointer { py in
        let xp = px.baseAddress!, yp = py.baseAddress!
        let epilogue = ConvEpilogue(bias: bias == nil ? nil : pb.baseAddress, residual: residual == nil ? nil : pr.baseAddress, relu: relu)
        eachGroupClass(g, layout, plan, direct1x1: direct1x1) { _, imgs, cl, wbase, cbp, tbp in
            let n0 = imgs.lowerBound, count = imgs.count, kdim = g.c * cl.t, width = count * cl.p
            let wp = layout.plain ? pw0.baseAddress! : pk.baseAddress! + wbase
            let last = wbase + g.o * kdim == (layout.plain ? g.o * g.ckk : layout.packedSize(g))   // last class: image complete
            if count == 1 && cl.identity {
                let b: UnsafePointer<Float>
                if direct1x1 { b = xp + n0 * chw } else { im2col(xp + n0 * chw, g, cl, cbp!, ld: hw); b = UnsafePointer(cbp!) }
                sgemm(m: g.o, n: hw, k: kdim, a: wp, b: b, c: yp + n0 * ohw)
                if last { epilogue.apply(yp, image: n0, o: g.o, hw: hw) }
            } else {
                plan.eachImage(count) { j in im2col(xp + (n0 + j) * chw, g, cl, cbp! + j * cl.p, ld: width) }
                sgemm(m: g.o, n: width, k: kdim, a: wp, b: cbp!, c: tbp!)
                plan.eachImage(count) { j in
                    copyColumns(tbp!, width: width, images: yp + n0 * ohw, o: g.o, hw: hw, cl, j: j, toColumns: false)
                    if last { epilogue.apply(yp, image: n0 + j, o: g.o, hw: hw) }
                }
            }
        }
    } } } } } }
    return y
}

/// What the forward applies to an output image [O, hw] once all of it is written:
/// y = [max(0,] y + bias[o] [+ residual][)], residual laid out as y.
struct ConvEpilogue {
    let bias: UnsafePointer<Float>?
    let residual: UnsafePointer<Float>?
    let relu: Bool

    /// Image n of y [N, O, hw].
    @inline(__always)
    func apply(_ y: UnsafeMutablePointer<Float>, image n: Int, o: Int, hw: Int) {
        if bias == nil && residual == nil && !relu { return }
        let img = y + n * o * hw
        for oc in 0..<o {
            let row = img + oc * hw, b = bias?[oc] ?? 0
            if let residual {
                let r = residual + (n * o + oc) * hw
                if relu { for t in 0..<hw { row[t] = Swift.max(0, (row[t] + b) + r[t]) } } else { for t in 0..<hw { row[t] = (row[t] + b) + r[t] } }
            } else if relu {
                for t in 0..<hw { row[t] = Swift.max(0, row[t] + b) }
            } else {
                for t in 0..<hw { row[t] += b }
            }
        }
    }

    /// Rows `rows` of y [R, O] in the channels-last layout (bias per column, the residual laid
    /// out as y): the same operations per element as `apply`.
    /// The branches are taken once per call, outside the loops (the per-element loops vectorise).
    @inline(__always)
    func apply(_ y: UnsafeMutablePointer<Float>, rows: Range<Int>, o: Int) {
        if bias == nil && residual == nil && !relu { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: bias == nil ? o : 0) { zeros in
            let b: UnsafePointer<Float>
            if let bias { b = bias } else { zeros.initialize(repeating: 0); b = UnsafePointer(zeros.baseAddress!) }
            for r in rows {
                let row = y + r * o
                if let residual {
                    let res = residual + r * o
                    if relu { for j in 0..<o { row[j] = Swift.max(0, (row[j] + b[j]) + res[j]) } } else {
                        for j in 0..<o { row[j] = (row[j] + b[j]) + res[j] }
                    }
                } else if relu {
                    for j in 0..<o { row[j] = Swift.max(0, row[j] + b[j]) }
                } else {
                    for j in 0..<o { row[j] += b[j] }
                }
            }
        }
    }
}

/// Fast backward-data. dOut [N,O,Ho,Wo], weight [O,C,k,k] -> dx [N,C,H,W].
public func conv2dBackwardData(_ dOut: Tensor, weight: Tensor, inputShape: [Int], stride: Int, padding: Int) -> Tensor {
    let g = ConvGeometry(n: inputShape[0], c: inputShape[1], h: inputShape[2], w: inputShape[3],
                         o: weight.shape[0], k: weight.shape[2], stride: stride, padding: padding)
    precondition(dOut.shape == g.outputShape, "conv2d backward: dOut \(dOut.shape), expected \(g.outputShape)")
    if Winograd.applies(g) { return winogradConv(dOut, weight: weight, bias: nil, g, flip: true) }
    let layout = ConvTaps(g), plan = ConvPlan(g, columnsPerImage: layout.minPositions)
    let hw = g.ho * g.wo, chw = g.c * g.h * g.w, ohw = g.o * hw
    let direct1x1 = g.k == 1 && stride == 1 && padding == 0
    let packed = layout.plain ? [] : weight.data.withUnsafeBufferPointer { layout.pack($0.baseAddress!, g) }
    var dx = Tensor(zeros: inputShape)
    dOut.data.withUnsafeBufferPointer { pd in weight.data.withUnsafeBufferPointer { pw0 in packed.withUnsafeBufferPointer { pk in
    dx.data.withUnsafeMutableBufferPointer { px in
        let dp = pd.baseAddress!, xp = px.baseAddress!
        eachGroupClass(g, layout, plan, direct1x1: direct1x1) { _, imgs, cl, wbase, cbp, tbp in
            let n0 = imgs.lowerBound, count = imgs.count, kdim = g.c * cl.t, width = count * cl.p
            let wp = layout.plain ? pw0.baseAddress! : pk.baseAddress! + wbase
            if count == 1 && cl.identity {
                if direct1x1 {
                    sgemm(transA: true, m: kdim, n: hw, k: g.o, a: wp, b: dp + n0 * ohw, c: xp + n0 * chw)
                } else {
                    sgemm(transA: true, m: kdim, n: hw, k: g.o, a: wp, b: dp + n0 * ohw, c: cbp!)
                    col2im(cbp!, g, cl, xp + n0 * chw, ld: hw)
                }
            } else {
                let dImages = UnsafeMutablePointer(mutating: dp + n0 * ohw)   // read only (toColumns)
                plan.eachImage(count) { j in copyColumns(tbp!, width: width, images: dImages, o: g.o, hw: hw, cl, j: j, toColumns: true) }
                sgemm(transA: true, m: kdim, n: width, k: g.o, a: wp, b: tbp!, c: cbp!)
                plan.eachImage(count) { j in col2im(cbp! + j * cl.p, g, cl, xp + (n0 + j) * chw, ld: width) }
            }
        }
    } } } }
    return dx
}

/// Fast backward-weight: dWeight [O,C,k,k] += Σ_n dOut[n] · im2col(x[n])ᵀ.
public func conv2dBackwardWeight(_ dOut: Tensor, input x: Tensor, kernelSize k: Int, stride: Int, padding: Int,
                                 into dWeight: inout Tensor) {
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                         o: dOut.shape[1], k: k, stride: stride, padding: padding)
    precondition(dOut.shape == g.outputShape && dWeight.shape == [g.o, g.c, k, k],
                 "conv2d backward-weight: dOut \(dOut.shape), dWeight \(dWeight.shape) for input \(x.shape)")
    if ConvTuning.winogradWeightGradient && Winograd.applies(g) { winogradBackwardWeight(dOut, input: x, g, into: &dWeight); return }
    let layout = ConvTaps(g), plan = ConvPlan(g, columnsPerImage: layout.minPositions)
    let hw = g.ho * g.wo, chw = g.c * g.h * g.w, ohw = g.o * hw
    let direct1x1 = g.k == 1 && stride == 1 && padding == 0
    let wsize = layout.plain ? g.o * g.ckk : layout.packedSize(g)
    // Chunk 0 accumulates straight into dWeight (or, when packed, into a packed sum); the other
    // chunks into private partial sums.
    var partial = [Float](repeating: 0, count: wsize * (plan.chunks - 1 + (layout.plain ? 0 : 1)))
    dOut.data.withUnsafeBufferPointer { pd in x.data.withUnsafeBufferPointer { px in
    partial.withUnsafeMutableBufferPointer { pp in dWeight.data.withUnsafeMutableBufferPointer { pdw in
        let dp = pd.baseAddress!, xp = px.baseAddress!
        let first = layout.plain ? pdw.baseAddress! : pp.baseAddress!
        let others = layout.plain ? pp.baseAddress : pp.baseAddress.map { $0 + wsize }
        eachGroupClass(g, layout, plan, direct1x1: direct1x1) { chunk, imgs, cl, wbase, cbp, tbp in
            let n0 = imgs.lowerBound, count = imgs.count, kdim = g.c * cl.t, width = count * cl.p
            let dacc = (chunk == 0 ? first : others! + (chunk - 1) * wsize) + wbase
            if count == 1 && cl.identity {
                let b: UnsafePointer<Float>
                if direct1x1 { b = xp + n0 * chw } else { im2col(xp + n0 * chw, g, cl, cbp!, ld: hw); b = UnsafePointer(cbp!) }
                sgemm(transB: true, m: g.o, n: kdim, k: hw, a: dp + n0 * ohw, b: b, beta: 1, c: dacc)
            } else {
                let dImages = UnsafeMutablePointer(mutating: dp + n0 * ohw)   // read only (toColumns)
                plan.eachImage(count) { j in
                    im2col(xp + (n0 + j) * chw, g, cl, cbp! + j * cl.p, ld: width)
                    copyColumns(tbp!, width: width, images: dImages, o: g.o, hw: hw, cl, j: j, toColumns: true)
                }
                sgemm(transB: true, m: g.o, n: kdim, k: width, a: tbp!, b: cbp!, beta: 1, c: dacc)
            }
        }
        for ch in 0..<(plan.chunks - 1) {
            let src = others! + ch * wsize
            for i in 0..<wsize { first[i] += src[i] }
        }
        if !layout.plain { layout.unpackAdd(first, g, into: pdw.baseAddress!) }
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
