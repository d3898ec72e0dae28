import Tensors

// Eval-mode ResNet stem fused per image: conv (im2col + sgemm) -> BatchNorm with running
// statistics -> ReLU -> max-pool, one image at a time on each thread, so that the image's conv
// output (64 x 16 x 16 floats at 32x32 input) stays in cache and the post-ReLU map is never
// written out: the layers one after the other write and re-read [N, 64, 16, 16] twice and the
// max-pool also records argmax indices for backward. No caches are kept (inference only).
// The reference is the layers in turn (conv2dForward, BatchNorm.forward(relu:), MaxPool2d):
// the values are the same bit for bit (same GEMM per image, same BatchNorm expression, and a
// max over ReLU outputs, which are never NaN: Swift.max(0, NaN) is 0).

/// x [N, C, H, W] -> maxpool(relu(bn(conv(x)))) [N, O, Ho', Wo'] in eval mode, or nil when the
/// convolution's geometry has no single plain im2col (maps so small that some kernel taps only
/// read padding; the caller then runs the layers in turn).
public func resNetStemEval(_ x: Tensor, conv: Conv2d, bn: BatchNorm, pool: MaxPool2d) -> Tensor? {
    precondition(x.rank == 4 && x.shape[1] == conv.inChannels && bn.numFeatures == conv.outChannels,
                 "resNetStemEval: input \(x.shape) for conv \(conv.inChannels)->\(conv.outChannels), BatchNorm(\(bn.numFeatures))")
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                         o: conv.outChannels, k: conv.kernelSize, stride: conv.stride, padding: conv.padding)
    let layout = ConvTaps(g)
    guard layout.plain, g.ho + 2 * pool.padding >= pool.kernelSize, g.wo + 2 * pool.padding >= pool.kernelSize else { return nil }
    let pg = PoolGeometry(h: g.ho, w: g.wo, k: pool.kernelSize, s: pool.stride, p: pool.padding)
    // BatchNorm eval: y = max(0, (v - mean) * invStd * gamma + beta), as BatchNorm.forward computes it.
    let mean = bn.runningMean.value.data, gamma = bn.weight.value.data, beta = bn.bias.value.data
    let invStd = bn.runningVar.value.data.map { 1 / ($0 + bn.eps).squareRoot() }
    let bias = conv.bias?.value.data
    let hw = g.ho * g.wo, chw = g.c * g.h * g.w, phw = pg.ho * pg.wo, o = g.o
    var y = Tensor(uninitializedShape: [g.n, o, pg.ho, pg.wo])   // every element written below
    let cl = layout.classes[0]
    x.data.withUnsafeBufferPointer { px in conv.weight.value.data.withUnsafeBufferPointer { pw in
    y.data.withUnsafeMutableBufferPointer { py in
        let xp = px.baseAddress!, wp = pw.baseAddress!, yp = py.baseAddress!
        withBLASThreads(1) {
            parallelChunks(g.n) { _, images in
                var cols = [Float](repeating: 0, count: g.ckk * hw), out = [Float](repeating: 0, count: o * hw)
                var plane = [Float](repeating: 0, count: hw)
                cols.withUnsafeMutableBufferPointer { cb in out.withUnsafeMutableBufferPointer { ob in plane.withUnsafeMutableBufferPointer { lb in
                    let cp = cb.baseAddress!, op = ob.baseAddress!, lp = lb.baseAddress!
                    for i in images {
                        // [C·k·k, Ho·Wo] columns, then [O, Ho·Wo] = W [O, C·k·k] · columns
                        im2col(xp + i * chw, g, cl, cp, ld: hw)
                        sgemm(m: o, n: hw, k: g.ckk, a: wp, b: cp, c: op)
                        for ch in 0..<o {
                            let row = op + ch * hw
                            if let bias { let b = bias[ch]; for t in 0..<hw { row[t] += b } }
                            let m = mean[ch], s = invStd[ch], ga = gamma[ch], be = beta[ch]
                            for t in 0..<hw { lp[t] = Swift.max(0, (row[t] - m) * s * ga + be) }
                            maxPoolPlane(lp, pg, yp + (i * o + ch) * phw)
                        }
                    }
                } } }
            }
        }
    } } }
    return y
}

/// Window geometry of a max-pool over one [h, w] plane (PyTorch floor mode).
struct PoolGeometry {
    let h, w, k, s, p: Int
    var ho: Int { (h + 2 * p - k) / s + 1 }
    var wo: Int { (w + 2 * p - k) / s + 1 }
}

/// One plane src [h, w] of values that are never NaN -> its max-pool dst [ho, wo] (windows
/// clipped to the plane; padding never wins; the first maximum in scan order wins, as in
/// MaxPool2d, which decides between 0 and -0).
@inline(__always)
func maxPoolPlane(_ src: UnsafePointer<Float>, _ pg: PoolGeometry, _ dst: UnsafeMutablePointer<Float>) {
    if pg.k == 3 && pg.s == 2 && pg.p == 1 && pg.w <= 256 { maxPool3x3s2(src, pg, dst); return }
    let (h, w, k, s, p, wo) = (pg.h, pg.w, pg.k, pg.s, pg.p, pg.wo)
    for oy in 0..<pg.ho {
        let y0 = Swift.max(0, oy * s - p), y1 = Swift.min(h, oy * s - p + k)
        for ox in 0..<wo {
            let x0 = Swift.max(0, ox * s - p), x1 = Swift.min(w, ox * s - p + k)
            var best = src[y0 * w + x0]
            for iy in y0..<y1 { let r = src + iy * w; for ix in x0..<x1 { let v = r[ix]; best = v > best ? v : best } }
            dst[oy * wo + ox] = best
        }
    }
}

/// ResNet's max-pool (3x3, stride 2, padding 1) of one plane, separably: the max of each row's
/// windows (clipped), then the max of three such rows. Picks the same element as the window scan of
/// `maxPoolPlane` (the top row holding the maximum, its leftmost one: strict `>` keeps the first),
/// so even the sign of a zero is the same. pg.w <= 256 (one row of row maxima on the stack).
@inline(__always)
private func maxPool3x3s2(_ src: UnsafePointer<Float>, _ pg: PoolGeometry, _ dst: UnsafeMutablePointer<Float>) {
    let (h, w, ho, wo) = (pg.h, pg.w, pg.ho, pg.wo)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * 128) { buf in
        let rm = buf.baseAddress!   // row maxima of the (up to) 3 rows of one output row, wo each
        @inline(__always) func rowMax(_ y: Int, _ out: UnsafeMutablePointer<Float>) {
            let r = src + y * w
            // ox = 0: columns 0, 1 (column -1 is padding)
            out[0] = w > 1 && r[1] > r[0] ? r[1] : r[0]
            for ox in 1..<wo {
                let x0 = 2 * ox - 1
                var b = r[x0]
                if r[x0 + 1] > b { b = r[x0 + 1] }
                if x0 + 2 < w && r[x0 + 2] > b { b = r[x0 + 2] }
                out[ox] = b
            }
        }
        for oy in 0..<ho {
            let y0 = Swift.max(0, 2 * oy - 1), y1 = Swift.min(h, 2 * oy + 2), d = dst + oy * wo
            for y in y0..<y1 { rowMax(y, rm + (y - y0) * wo) }
            (d).update(from: rm, count: wo)
            for y in (y0 + 1)..<y1 { let q = rm + (y - y0) * wo; for ox in 0..<wo { let a = q[ox], b = d[ox]; d[ox] = a > b ? a : b } }
        }
    }
}
