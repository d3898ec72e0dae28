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
    let strided = g.stride > 1 ? StridedColumns(g) : nil
    let pool8 = VectorPool3x3s2(pg)
    x.data.withUnsafeBufferPointer { px in conv.weight.value.data.withUnsafeBufferPointer { pw in
    y.data.withUnsafeMutableBufferPointer { py in
        let xp = px.baseAddress!, wp = pw.baseAddress!, yp = py.baseAddress!
        withBLASThreads(1) {
            parallelChunks(g.n) { _, images in
                var cols = [Float](repeating: 0, count: g.ckk * hw), out = [Float](repeating: 0, count: o * hw)
                var plane = [Float](repeating: 0, count: Swift.max(hw, pool8?.scratchSize ?? 0))
                // zero once: the phases' padding is never written (StridedColumns)
                var phases = [Float](repeating: 0, count: strided?.scratchSize ?? 0)
                cols.withUnsafeMutableBufferPointer { cb in out.withUnsafeMutableBufferPointer { ob in plane.withUnsafeMutableBufferPointer { lb in
                phases.withUnsafeMutableBufferPointer { sb in
                    let cp = cb.baseAddress!, op = ob.baseAddress!, lp = lb.baseAddress!
                    for i in images {
                        // [C·k·k, Ho·Wo] columns, then [O, Ho·Wo] = W [O, C·k·k] · columns
                        if let strided { strided.columns(xp + i * chw, cp, scratch: sb.baseAddress!) } else { im2col(xp + i * chw, g, cl, cp, ld: hw) }
                        sgemm(m: o, n: hw, k: g.ckk, a: wp, b: cp, c: op)
                        for ch in 0..<o {
                            let row = op + ch * hw
                            if let bias { let b = bias[ch]; for t in 0..<hw { row[t] += b } }
                            let m = mean[ch], s = invStd[ch], ga = gamma[ch], be = beta[ch]
                            if let pool8 {
                                pool8.bnReLUPool(row, mean: m, invStd: s, gamma: ga, beta: be, yp + (i * o + ch) * phw, scratch: lp)
                                continue
                            }
                            for t in 0..<hw { lp[t] = Swift.max(0, (row[t] - m) * s * ga + be) }
                            maxPoolPlane(lp, pg, yp + (i * o + ch) * phw)
                        }
                    }
                } } } }
            }
        }
    } } }
    return y
}

/// The im2col columns [C·k·k, Ho·Wo] of one image for a strided convolution of the plain class
/// (every tap reads input somewhere), element for element what `im2col` writes (input values
/// copied, padding +0): each channel is zero-padded once and split into its `stride` column
/// phases, phase φ holding padded columns φ, φ + s, φ + 2s, ... Tap (ky, kx) at output (oy, ox)
/// reads padded (s·oy + ky, s·ox + kx) = phase kx % s at (s·oy + ky, ox + kx / s), so each
/// (tap, output row) run of Wo columns is one contiguous copy instead of a strided gather.
struct StridedColumns {
    let g: ConvGeometry
    /// Padded rows and the width of one phase (ceil((W + 2p) / s); unused tail columns stay 0).
    let rows, width: Int
    /// Floats of the scratch: C channels × s phases × rows × width, zeroed once by the caller.
    var scratchSize: Int { g.c * g.stride * rows * width }

    init(_ g: ConvGeometry) {
        self.g = g
        rows = g.h + 2 * g.padding
        width = (g.w + 2 * g.padding + g.stride - 1) / g.stride
    }

    func columns(_ x: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let (s, p, k, h, w, ho, wo) = (g.stride, g.padding, g.k, g.h, g.w, g.ho, g.wo)
        let phase = rows * width, hw = ho * wo
        for c in 0..<g.c {
            let src = x + c * h * w, q = scratch + c * s * phase
            for f in 0..<s {
                // phase f holds padded columns f + s·j, i.e. input columns f + s·j − p in 0..<w
                let j0 = Swift.max(0, (p - f + s - 1) / s), j1 = (w + p - f + s - 1) / s, x0 = f + s * j0 - p
                for y in 0..<h {
                    let r = src + y * w + x0, row = q + f * phase + (y + p) * width
                    for j in j0..<j1 { row[j] = r[(j - j0) &* s] }
                }
            }
            for ky in 0..<k {
                for kx in 0..<k {
                    let out = dst + ((c * k + ky) * k + kx) * hw, base = q + (kx % s) * phase + ky * width + kx / s
                    for oy in 0..<ho {
                        let from = base + s * oy * width, to = out + oy * wo
                        if wo == 16 {
                            UnsafeMutableRawPointer(to).storeBytes(of: UnsafeRawPointer(from).loadUnaligned(as: SIMD16<Float>.self),
                                                                   as: SIMD16<Float>.self)
                        } else {
                            for j in 0..<wo { to[j] = from[j] }
                        }
                    }
                }
            }
        }
    }
}

/// The columns [C·k·k, Ho·Wo] of image `image` of x [N, C, H, W] by `StridedColumns`, the
/// scratch zeroed once and used twice, as the stem uses it (columns start NaN: an entry left
/// unwritten shows). Exposed for tests.
public func convColumnsStrided(_ x: Tensor, image: Int, kernelSize k: Int, stride: Int, padding: Int) -> [Float] {
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], o: 1, k: k, stride: stride, padding: padding)
    let sc = StridedColumns(g)
    var scratch = [Float](repeating: 0, count: sc.scratchSize)
    var cols = [Float](repeating: .nan, count: g.ckk * g.ho * g.wo)
    x.data.withUnsafeBufferPointer { px in cols.withUnsafeMutableBufferPointer { pc in scratch.withUnsafeMutableBufferPointer { ps in
        let src = px.baseAddress! + image * g.c * g.h * g.w
        sc.columns(src, pc.baseAddress!, scratch: ps.baseAddress!)
        // a second image through the same scratch: its padding must still read 0
        sc.columns(src, pc.baseAddress!, scratch: ps.baseAddress!)
    } } }
    return cols
}

/// BatchNorm (eval) -> ReLU -> max-pool 3x3 stride 2 padding 1 of one conv output plane [h, w]
/// in 8-lane vectors, for even w that is a multiple of 16 (the stem at 32x32 input: 16x16 -> 8x8).
/// The same values and the same element as the scalar path (`Swift.max(0, ·)` of the same
/// BatchNorm expression, then `maxPool3x3s2`): each row's window maxima first, from the left
/// with strict `>` (a padding column reads −inf, which every ReLU output beats), then the
/// rows' maxima from the top with strict `>`, so the first maximum in scan order wins.
struct VectorPool3x3s2 {
    let h, w: Int

    /// nil when the geometry is not the 3x3 / 2 / 1 pool of an even width that is a multiple of 16.
    init?(_ pg: PoolGeometry) {
        guard pg.k == 3, pg.s == 2, pg.p == 1, pg.w % 16 == 0, pg.h >= 2 else { return nil }
        h = pg.h; w = pg.w
    }

    /// Floats of scratch: one row of window maxima (w / 2) per input row, plus a padded row.
    var scratchSize: Int { (h + 1) * (w / 2) + w + 1 }

    @inline(__always)
    func bnReLUPool(_ src: UnsafePointer<Float>, mean m: Float, invStd s: Float, gamma ga: Float, beta be: Float,
                    _ dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        typealias V8 = SIMD8<Float>
        typealias V16 = SIMD16<Float>
        let wo = w / 2, ho = (h - 1) / 2 + 1
        let hm = scratch, row = scratch + h * wo   // row: [-inf, w values]
        row[0] = -.infinity
        let mv = V16(repeating: m), sv = V16(repeating: s), gv = V16(repeating: ga), bv = V16(repeating: be)
        for y in 0..<h {
            let r = src + y * w
            for b in stride(from: 0, to: w, by: 16) {
                let v = UnsafeRawPointer(r + b).loadUnaligned(as: V16.self)
                let z = (v - mv) * sv * gv + bv
                let a = V16(repeating: 0).replacing(with: z, where: z .>= 0)   // Swift.max(0, z): z when z >= 0
                UnsafeMutableRawPointer(row + 1 + b).storeBytes(of: a, as: V16.self)
            }
            let out = hm + y * wo
            for b in stride(from: 0, to: w, by: 16) {
                // window of output column j: row[2j - 1], row[2j], row[2j + 1] (row[-1] = -inf)
                let left = UnsafeRawPointer(row + b).loadUnaligned(as: V16.self)        // evens: 2j - 1, odds: 2j
                let right = UnsafeRawPointer(row + 1 + b).loadUnaligned(as: V16.self)   // odds: 2j + 1
                var best: V8 = left.evenHalf
                let c = left.oddHalf
                best = best.replacing(with: c, where: c .> best)
                let d = right.oddHalf
                best = best.replacing(with: d, where: d .> best)
                UnsafeMutableRawPointer(out + b / 2).storeBytes(of: best, as: V8.self)
            }
        }
        for oy in 0..<ho {
            let y0 = Swift.max(0, 2 * oy - 1), y1 = Swift.min(h, 2 * oy + 2), d = dst + oy * wo
            for b in stride(from: 0, to: wo, by: 8) {
                var best = UnsafeRawPointer(hm + y0 * wo + b).loadUnaligned(as: V8.self)
                for y in (y0 + 1)..<y1 {
                    let c = UnsafeRawPointer(hm + y * wo + b).loadUnaligned(as: V8.self)
                    best = best.replacing(with: c, where: c .> best)
                }
                UnsafeMutableRawPointer(d + b).storeBytes(of: best, as: V8.self)
            }
        }
    }
}

/// BatchNorm (eval) -> ReLU -> max-pool 3x3/2/1 of one plane [h, w] by `VectorPool3x3s2` and by
/// the scalar path it replaces (nil vector: the geometry has no vector path). Exposed for tests.
public func stemPoolPaths(_ plane: [Float], h: Int, w: Int, mean: Float, invStd: Float, gamma: Float, beta: Float)
    -> (vector: [Float]?, scalar: [Float]) {
    precondition(plane.count == h * w, "stemPoolPaths: \(plane.count) values for \(h)x\(w)")
    let pg = PoolGeometry(h: h, w: w, k: 3, s: 2, p: 1)
    var scalar = [Float](repeating: .nan, count: pg.ho * pg.wo)
    let relu = plane.map { Swift.max(0, ($0 - mean) * invStd * gamma + beta) }
    relu.withUnsafeBufferPointer { r in scalar.withUnsafeMutableBufferPointer { maxPoolPlane(r.baseAddress!, pg, $0.baseAddress!) } }
    guard let vp = VectorPool3x3s2(pg) else { return (nil, scalar) }
    var vector = [Float](repeating: .nan, count: pg.ho * pg.wo), scratch = [Float](repeating: .nan, count: vp.scratchSize)
    plane.withUnsafeBufferPointer { src in vector.withUnsafeMutableBufferPointer { dst in scratch.withUnsafeMutableBufferPointer { sc in
        vp.bnReLUPool(src.baseAddress!, mean: mean, invStd: invStd, gamma: gamma, beta: beta, dst.baseAddress!, scratch: sc.baseAddress!)
    } } }
    return (vector, scalar)
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
