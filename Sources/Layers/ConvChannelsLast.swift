import Tensors

// Eval-mode convolution on small maps (4x4, 2x2, 1x1; ResNet's layer2-4 at 32x32 input) in the
// channels-last layout x [N, H, W, C], where a batch needs no im2col and no column reordering:
//  - 1x1 stride 1: one GEMM over all N·H·W rows, y [N·H·W, O] = x [N·H·W, C] · W'ᵀ;
//  - otherwise one GEMM per output position q over the batch, y[:, q, :] [N, O] (row stride
//    Ho·Wo·O) = A_q [N, T_q·C] · W'_qᵀ, where A_q holds the T_q input pixels q reads (padding
//    taps skipped: 4 of 9 on 2x2 maps, the centre tap on 1x1) and W'_q [O, T_q·C] those taps'
//    weights. When the pixels are one run (every position of a 2x2 map, the one of a 1x1 map),
//    A_q is x itself with row stride H·W·C (and when every position reads the same run, their
//    W'_q stacked make one GEMM for all); else (4x4 maps, stride 2) they are gathered.
// Bias, residual and ReLU are applied after the GEMMs. The reference is the NCHW path
// (`Conv2d.forwardFoldingBatchNorm`, tested equal in ConvChannelsLastTests).

extension ConvTuning {
    /// Eval-mode ResNet blocks whose output map has at most this many positions run channels-last
    /// (`ConvChannelsLast`); 0: every block in NCHW (the reference). 16 (4x4 maps and smaller):
    /// measured faster than 4 (ResNet152 inference ~+10% CPU time, 2 threads, batch 128: the 3x3
    /// convolutions on 4x4 maps by per-position GEMMs instead of Winograd F(2x2, 3x3), their 1x1
    /// convolutions without im2col) and than 64 (8x8 maps lose Winograd F(4x4, 3x3)).
    nonisolated(unsafe) public static var channelsLastMaxPositions = 16
    /// The limit for blocks made of 3x3 convolutions only (BasicBlock), at most
    /// `channelsLastMaxPositions`: 4, as their 3x3 convolutions on 4x4 maps are faster by Winograd
    /// (ResNet18 inference measured ~15% slower with its layer2 channels-last, ~10% faster with
    /// layer3-4 only).
    nonisolated(unsafe) public static var channelsLastMaxPositions3x3Blocks = 4
}

/// A convolution's geometry and W' packed per output position for the channels-last kernel.
struct ChannelsLastConv {
    let g: ConvGeometry
    /// Per output position q: the input pixels iy·W+ix it reads (ascending).
    let pixels: [[Int]]
    /// W'_q [O, T_q·C] of every position, concatenated; `offsets[q]` where q's starts.
    let packed: [Float]
    let offsets: [Int]
    /// 1x1 stride 1, no padding: one GEMM with W' [O, C] itself.
    var pointwise: Bool { g.k == 1 && g.stride == 1 && g.padding == 0 }
    /// The pixels every output position reads, when they are the same run for all (3x3 pad 1
    /// on 2x2 or 1x1 maps, stride 2 from 2x2 to 1x1): then one GEMM covers every position.
    var sharedRun: Range<Int>? {
        guard let first = pixels.first, !first.isEmpty, isRun(first), pixels.allSatisfy({ $0 == first }) else { return nil }
        return first[0]..<(first.last! + 1)
    }

    /// weight W' [O, C, k, k] (row-major).
    init(_ g: ConvGeometry, weight: UnsafePointer<Float>) {
        self.g = g
        let (k, s, p, c, o) = (g.k, g.stride, g.padding, g.c, g.o)
        var pixels: [[Int]] = [], packed: [Float] = [], offsets: [Int] = []
        if g.k == 1 && g.stride == 1 && g.padding == 0 {
            packed = Array(UnsafeBufferPointer(start: weight, count: o * c))
        } else {
            packed.reserveCapacity(g.ho * g.wo * o * c * k * k)   // at most every tap at every position
            for oy in 0..<g.ho { for ox in 0..<g.wo {
                var px: [Int] = [], taps: [Int] = []
                for ky in 0..<k { for kx in 0..<k {
                    let iy = oy * s - p + ky, ix = ox * s - p + kx
                    if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w { px.append(iy * g.w + ix); taps.append(ky * k + kx) }
                } }
                offsets.append(packed.count)
                // W'_q[oc, i·C + ci] = W'[oc, ci, taps[i]]
                for oc in 0..<o { for t in taps { for ci in 0..<c { packed.append(weight[(oc * c + ci) * k * k + t]) } } }
                pixels.append(px)
            } }
        }
        self.pixels = pixels
        self.packed = packed
        self.offsets = offsets
    }

    /// Whether ascending pixel indices are one run (consecutive; empty counts as one).
    private func isRun(_ px: [Int]) -> Bool { px.isEmpty || px.last! - px[0] == px.count - 1 }

    /// Whether the cached packing was built for input maps h x w.
    func fits(h: Int, w: Int) -> Bool { g.h == h && g.w == w }

    /// x [N, H, W, C], bias [O], residual [N, Ho, Wo, O] -> y [N, Ho, Wo, O] =
    /// [max(0,] conv(x, W') + bias [+ residual][)]. `n` may differ from the packing's batch.
    func forward(_ x: Tensor, bias: Tensor?, residual: Tensor?, relu: Bool) -> Tensor {
        let n = x.shape[0], c = g.c, o = g.o, hwi = g.h * g.w, hwo = g.ho * g.wo
        precondition(x.shape == [n, g.h, g.w, c], "conv2d channels-last: input \(x.shape), expected [N, \(g.h), \(g.w), \(c)]")
        if let residual { precondition(residual.shape == [n, g.ho, g.wo, o], "conv2d channels-last: residual \(residual.shape)") }
        var y = Tensor(uninitializedShape: [n, g.ho, g.wo, o])   // every element written by the GEMMs
        x.data.withUnsafeBufferPointer { px in packed.withUnsafeBufferPointer { pw in y.data.withUnsafeMutableBufferPointer { py in
            let xp = px.baseAddress!, wp = pw.baseAddress!, yp = py.baseAddress!
            if pointwise {
                sgemm(transB: true, m: n * hwi, n: o, k: c, a: xp, b: wp, c: yp)
                return
            }
            if let run = sharedRun {
                // every position reads the same run of pixels: W'_0..W'_{Ho·Wo−1} stacked are one
                // [Ho·Wo·O, T·C] matrix, and y [N, Ho·Wo·O] = A [N, T·C] · stackedᵀ in one GEMM
                sgemm(transB: true, m: n, n: hwo * o, k: run.count * c, a: xp + run.lowerBound * c, lda: hwi * c,
                      b: wp, ldb: run.count * c, c: yp)
                return
            }
            // A_q of the positions whose pixels are not one run (stride 2 on 4x4 maps), one at a time
            let gatherSize = pixels.map { isRun($0) ? 0 : n * $0.count * c }.max() ?? 0
            var gathered = [Float](unsafeUninitializedCapacity: gatherSize) { $1 = $0.count }
            gathered.withUnsafeMutableBufferPointer { pg in
                for q in 0..<hwo {
                    let pix = pixels[q], t = pix.count, kdim = t * c, yq = yp + q * o
                    if t == 0 {   // reads only padding
                        for i in 0..<n { (yq + i * hwo * o).update(repeating: 0, count: o) }
                        continue
                    }
                    var a = xp + pix[0] * c, lda = hwi * c
                    if !isRun(pix) {
                        let gp = pg.baseAddress!
                        parallelFor(n, minChunk: Swift.max(1, 16384 / Swift.max(1, kdim))) { r in
                            for i in r { for (j, pixel) in pix.enumerated() { (gp + i * kdim + j * c).update(from: xp + (i * hwi + pixel) * c, count: c) } }
                        }
                        a = UnsafePointer(gp)
                        lda = kdim
                    }
                    sgemm(transB: true, m: n, n: o, k: kdim, a: a, lda: lda, b: wp + offsets[q], ldb: kdim, c: yq, ldc: hwo * o)
                }
            }
        } } }
        if bias != nil || residual != nil || relu { channelsLastEpilogue(&y, bias: bias, residual: residual, relu: relu) }
        return y
    }
}

/// y [..., O] (rows of O) = [max(0,] y + bias[o] [+ residual][)], residual laid out as y
/// (`ConvEpilogue`, the NCHW epilogue's operations).
func channelsLastEpilogue(_ y: inout Tensor, bias: Tensor?, residual: Tensor?, relu: Bool) {
    let o = y.shape.last!, rows = y.count / Swift.max(1, o)
    let biasData = bias?.data ?? [], resData = residual?.data ?? []
    biasData.withUnsafeBufferPointer { pb in resData.withUnsafeBufferPointer { pr in y.data.withUnsafeMutableBufferPointer { py in
        let e = ConvEpilogue(bias: bias == nil ? nil : pb.baseAddress, residual: residual == nil ? nil : pr.baseAddress, relu: relu)
        let yp = py.baseAddress!
        parallelFor(rows, minChunk: Swift.max(1, 16384 / Swift.max(1, o))) { range in e.apply(yp, rows: range, o: o) }
    } } }
}

/// x [N, C, H, W] -> [N, H, W, C].
public func channelsLast(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "channelsLast: input \(x.shape), expected [N, C, H, W]")
    let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    return transposePlanes(x, n: n, rows: c, cols: hw, shape: [n, x.shape[2], x.shape[3], c])
}

/// x [N, H, W, C] -> [N, C, H, W].
public func channelsFirst(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "channelsFirst: input \(x.shape), expected [N, H, W, C]")
    let (n, hw, c) = (x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
    return transposePlanes(x, n: n, rows: hw, cols: c, shape: [n, c, x.shape[1], x.shape[2]])
}

/// Per image, [rows, cols] -> [cols, rows].
private func transposePlanes(_ x: Tensor, n: Int, rows: Int, cols: Int, shape: [Int]) -> Tensor {
    var y = Tensor(uninitializedShape: shape)
    let plane = rows * cols
    x.data.withUnsafeBufferPointer { px in y.data.withUnsafeMutableBufferPointer { py in
        let xp = px.baseAddress!, yp = py.baseAddress!
        parallelFor(n, minChunk: Swift.max(1, 16384 / Swift.max(1, plane))) { range in
            for i in range {
                let s = xp + i * plane, d = yp + i * plane
                for r in 0..<rows { for j in 0..<cols { d[j * rows + r] = s[r * cols + j] } }
            }
        }
    } }
    return y
}

extension Conv2d {
    /// Eval-mode conv -> `bn` (running statistics) (+ residual) (+ ReLU) with `bn` folded in, in
    /// the channels-last layout: x [N, H, W, C], residual [N, Ho, Wo, O] -> y [N, Ho, Wo, O].
    /// The same values as `forwardFoldingBatchNorm` on the NCHW tensors (up to summation order).
    public func forwardFoldingBatchNormChannelsLast(_ x: Tensor, bn: BatchNorm, residual: Tensor?, relu: Bool) -> Tensor {
        precondition(x.rank == 4 && x.shape[3] == inChannels && bn.numFeatures == outChannels,
                     "Conv2d(\(inChannels)->\(outChannels)) channels-last folding BatchNorm(\(bn.numFeatures)): input shape \(x.shape)")
        let f = foldedWeights(bn)
        let (h, w) = (x.shape[1], x.shape[2])
        if let p = f.channelsLast, p.fits(h: h, w: w) {
            return p.forward(x, bias: f.bias, residual: residual, relu: relu)
        }
        let g = ConvGeometry(n: x.shape[0], c: inChannels, h: h, w: w, o: outChannels, k: kernelSize, stride: stride, padding: padding)
        let p = f.weight.data.withUnsafeBufferPointer { ChannelsLastConv(g, weight: $0.baseAddress!) }
        f.channelsLast = p
        return p.forward(x, bias: f.bias, residual: residual, relu: relu)
    }
}
