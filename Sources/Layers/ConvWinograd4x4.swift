import Tensors

// Winograd F(4x4, 3x3) (Lavin & Gray 2016, interpolation points 0, ±1, ±2, ∞) for the forward pass
// of 3x3 stride-1 padding-1 convolutions on maps of at least 8x8: each 4x4 output tile comes from a
// 6x6 input patch with 36 multiplies per (input, output channel) pair instead of 144 (F(2x2, 3x3):
// 64 for the same four 2x2 tiles), the multiplies batched into 36 GEMMs (one per position ξ):
//   U = G g Gᵀ [36, O, C], V = Bᵀ d B [36, C, P], M[ξ] = U[ξ]·V[ξ], y = Aᵀ M A
// P = images in the group × ceil(H/4)·ceil(W/4) tiles. Patches reading outside the map read zeros;
// outputs of partial tiles are dropped. The larger transforms round more than F(2x2, 3x3) (their
// constants reach 8 and 1/24): WinogradF4Tests holds the result to the direct loops of
// ConvReference.swift at 1e-4 of the output scale. Inference only (`conv2dInferenceForward`,
// `Conv2d.forward(_:mode: .eval)`): in training that rounding showed in gradients checked against
// PyTorch at 1e-3 (VGGParityTests), so train-mode forwards and backward passes keep F(2x2, 3x3) / im2col.

enum Winograd4 {
    /// Whether an inference forward of `g` takes F(4x4, 3x3) (on smaller maps a 6x6 patch mostly reads padding).
    static func applies(_ g: ConvGeometry) -> Bool {
        ConvTuning.winograd4x4 && Winograd.applies(g) && g.h >= 8 && g.w >= 8
    }

    /// Images grouped so that a group's V and M [36, C + O, P] stay within ~1 MB.
    static func plan(_ g: ConvGeometry, _ tiles: Winograd4Tiles) -> ConvPlan {
        let budget = Swift.max(16, 7282 / Swift.max(1, g.c + g.o))
        return ConvPlan(g, columnsPerImage: tiles.perImage, minColumns: Swift.min(ConvTuning.minColumns, budget))
    }

    /// weight [O, C, 3, 3] -> U [36, O, C], U[i·6 + j, o, c] = (G g Gᵀ)[i, j].
    static func transformWeight(_ w: UnsafePointer<Float>, o: Int, c: Int) -> [Float] {
        let plane = o * c
        return [Float](unsafeUninitializedCapacity: 36 * plane) { u, initialized in
            let up = u.baseAddress!
            for p in 0..<plane {
                let src = w + p * 9
                // G g: column k of g -> column k of G g (6 rows), then each row i of G g times Gᵀ
                let c0 = gTimes(src[0], src[3], src[6]), c1 = gTimes(src[1], src[4], src[7]), c2 = gTimes(src[2], src[5], src[8])
                for i in 0..<6 {
                    let r = gTimes(c0[i], c1[i], c2[i])
                    for j in 0..<6 { up[(i * 6 + j) * plane + p] = r[j] }
                }
            }
            initialized = 36 * plane
        }
    }

    /// G (a, b, c)ᵀ: (a/4, −(a+b+c)/6, −(a−b+c)/6, a/24 + b/12 + c/6, a/24 − b/12 + c/6, c) in lanes 0-5.
    @inline(__always)
    static func gTimes(_ a: Float, _ b: Float, _ c: Float) -> SIMD8<Float> {
        SIMD8(a / 4, -(a + b + c) / 6, -(a - b + c) / 6, a / 24 + b / 12 + c / 6, a / 24 - b / 12 + c / 6, c, 0, 0)
    }
}

/// 4x4 tiles of one image and the zero-padded plane the 6x6 input patches are read from.
struct Winograd4Tiles: WinogradTiling {
    static let tile = 4
    let h, w, th, tw: Int
    init(h: Int, w: Int) { self.h = h; self.w = w; th = Self.tiles(h); tw = Self.tiles(w) }

    /// Images x [count, C, H, W] -> V[ξ, c, j·T + t] (row stride `ld`, ξ stride C·ld) = Bᵀ d B.
    /// Per row of tiles: Bᵀ d over whole padded rows (contiguous, vectorised), then (Bᵀ d) B per tile.
    func transformInput(_ x: UnsafePointer<Float>, c: Int, image j: Int, _ v: UnsafeMutablePointer<Float>, ld: Int,
                        plane xi: Int, scratch pad: UnsafeMutablePointer<Float>) {
        let pw = padW, tw = tw
        let t = pad + padSize
        forEachPaddedChannel(x, c: c, image: j, v, ld: ld, pad: pad) { out in
            for ty in 0..<th {
                let d0 = pad + 4 * ty * pw, d1 = d0 + pw, d2 = d1 + pw, d3 = d2 + pw, d4 = d3 + pw, d5 = d4 + pw
                let t0 = t, t1 = t0 + pw, t2 = t1 + pw, t3 = t2 + pw, t4 = t3 + pw, t5 = t4 + pw
                for k in 0..<pw {
                    let r = bT(d0[k], d1[k], d2[k], d3[k], d4[k], d5[k])
                    t0[k] = r.0; t1[k] = r.1; t2[k] = r.2; t3[k] = r.3; t4[k] = r.4; t5[k] = r.5
                }
                let o = out + ty * tw
                for i in 0..<6 { rowTimesB4(t + i * pw, o + 6 * i * xi, xi, tw) }
            }
        }
    }

    /// Floats of scratch for `transformInputGroup`: the padded planes of `images` images interleaved
    /// (image innermost, padded to a multiple of 8 lanes).
    func groupScratchSize(images: Int) -> Int { padSize * ((images + 7) / 8 * 8) }

    /// Images x [count, C, H, W] -> V[ξ, c, t·count + j] (tile-major columns; row stride `ld`, ξ
    /// stride `xi`) = Bᵀ d B for input channels `channels`, 8 images at a time in vectors: each
    /// channel's padded planes are interleaved image-innermost in `pad`, so a patch element of 8
    /// images is one vector and each V element of 8 images one contiguous store. Per element the
    /// operations of `transformInput` in its order (same bits; the tail lanes of a partial vector
    /// are computed on zeros and not stored).
    func transformInputGroup(_ x: UnsafePointer<Float>, c: Int, count: Int, channels: Range<Int>, _ v: UnsafeMutablePointer<Float>,
                             ld: Int, plane xi: Int, scratch pad: UnsafeMutablePointer<Float>) {
        typealias V8 = SIMD8<Float>
        let pw = padW, plane = h * w, lanes = (count + 7) / 8 * 8
        pad.update(repeating: 0, count: padSize * lanes)   // borders and unused lanes read 0
        withUnsafeTemporaryAllocation(of: V8.self, capacity: 36) { trBuf in
        let tr = trBuf.baseAddress!   // Bᵀ d of one patch: tr[i * 6 + k]
        for ci in channels {
            for j in 0..<count {
                let src = x + (j * c + ci) * plane
                for yy in 0..<h {
                    let row = src + yy * w, dst = pad + ((yy + 1) * pw + 1) * lanes + j
                    for xx in 0..<w { dst[xx &* lanes] = row[xx] }
                }
            }
            let vc = v + ci * ld
            for j0 in stride(from: 0, to: count, by: 8) {
                let valid = Swift.min(8, count - j0)
                @inline(__always) func d(_ yy: Int, _ xx: Int) -> V8 {
                    let pos: Int = yy &* pw &+ xx, off: Int = pos &* lanes &+ j0
                    return UnsafeRawPointer(pad + off).loadUnaligned(as: V8.self)
                }
                for ty in 0..<th {
                    for tx in 0..<tw {
                        let y0 = 4 * ty, x0 = 4 * tx, col = (ty * tw + tx) * count + j0
                        // Bᵀ d: column k of the 6x6 patch -> (t0 ... t5)[k]
                        for k in 0..<6 {
                            let r = bT(d(y0, x0 + k), d(y0 + 1, x0 + k), d(y0 + 2, x0 + k),
                                       d(y0 + 3, x0 + k), d(y0 + 4, x0 + k), d(y0 + 5, x0 + k))
                            tr[k] = r.0; tr[6 + k] = r.1; tr[12 + k] = r.2; tr[18 + k] = r.3; tr[24 + k] = r.4; tr[30 + k] = r.5
                        }
                        // (Bᵀ d) B: row i -> V[6i ... 6i + 5]
                        for i in 0..<6 {
                            let out = bT(tr[6 * i], tr[6 * i + 1], tr[6 * i + 2], tr[6 * i + 3], tr[6 * i + 4], tr[6 * i + 5])
                            @inline(__always) func put(_ q: Int, _ r: V8) {
                                let dst = vc + (6 * i + q) * xi + col
                                if valid == 8 { UnsafeMutableRawPointer(dst).storeBytes(of: r, as: V8.self) }
                                else { for l in 0..<valid { dst[l] = r[l] } }
                            }
                            put(0, out.0); put(1, out.1); put(2, out.2); put(3, out.3); put(4, out.4); put(5, out.5)
                        }
                    }
                }
            }
        }
        }
    }

    /// M[ξ, o, p] (row stride `ld`, ξ stride O·ld; over the group's `ld / T` images, p = t·count + j
    /// when `vector`, else j·T + t) -> output channels `channels` of y [·, O, H, W] for those images
    /// = Aᵀ M A (+ bias). Per output channel the 36 -> 16 transform runs over all P tiles (contiguous
    /// rows of M: 8 tiles per vector when `vector`, else one at a time) into `out` [16, P], then the
    /// 4x4 tiles are scattered into y.
    func transformOutput(_ m: UnsafePointer<Float>, o: Int, ld: Int, plane xi: Int, bias: UnsafePointer<Float>?,
                         channels: Range<Int>, _ y: UnsafeMutablePointer<Float>, scratch out: UnsafeMutablePointer<Float>,
                         vector: Bool) {
        let plane = h * w, count = ld / perImage, full = h % 4 == 0 && w % 4 == 0
        let s6 = 6 * xi
        for oc in channels {
            let src = m + oc * ld
            // 8 tiles at a time in vectors (the same operations per lane as the scalar tail below)
            var p = 0
            while vector && p + 8 <= ld {
                @inline(__always) func col(_ k: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                    let q = src + k * xi + p
                    @inline(__always) func at(_ i: Int) -> SIMD8<Float> { UnsafeRawPointer(q + i * s6).loadUnaligned(as: SIMD8<Float>.self) }
                    return aT(at(0), at(1), at(2), at(3), at(4), at(5))
                }
                let c0 = col(0), c1 = col(1), c2 = col(2), c3 = col(3), c4 = col(4), c5 = col(5)
                let r0 = aT(c0.0, c1.0, c2.0, c3.0, c4.0, c5.0), r1 = aT(c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)
                let r2 = aT(c0.2, c1.2, c2.2, c3.2, c4.2, c5.2), r3 = aT(c0.3, c1.3, c2.3, c3.3, c4.3, c5.3)
                @inline(__always) func put(_ e: Int, _ v: SIMD8<Float>) {
                    UnsafeMutableRawPointer(out + e * ld + p).storeBytes(of: v, as: SIMD8<Float>.self)
                }
                put(0, r0.0); put(1, r0.1); put(2, r0.2); put(3, r0.3)
                put(4, r1.0); put(5, r1.1); put(6, r1.2); put(7, r1.3)
                put(8, r2.0); put(9, r2.1); put(10, r2.2); put(11, r2.3)
                put(12, r3.0); put(13, r3.1); put(14, r3.2); put(15, r3.3)
                p += 8
            }
            while p < ld {
                // column k of M (rows i = 0...5 at ξ = 6i + k) -> column k of Aᵀ M (4 rows)
                @inline(__always) func col(_ k: Int) -> (Float, Float, Float, Float) {
                    let q = src + k * xi + p
                    return aT(q[0], q[s6], q[2 * s6], q[3 * s6], q[4 * s6], q[5 * s6])
                }
                let c0 = col(0), c1 = col(1), c2 = col(2), c3 = col(3), c4 = col(4), c5 = col(5)
                // row r of (Aᵀ M) A
                let r0 = aT(c0.0, c1.0, c2.0, c3.0, c4.0, c5.0), r1 = aT(c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)
                let r2 = aT(c0.2, c1.2, c2.2, c3.2, c4.2, c5.2), r3 = aT(c0.3, c1.3, c2.3, c3.3, c4.3, c5.3)
                let o0 = out + p
                o0[0] = r0.0; o0[ld] = r0.1; o0[2 * ld] = r0.2; o0[3 * ld] = r0.3
                o0[4 * ld] = r1.0; o0[5 * ld] = r1.1; o0[6 * ld] = r1.2; o0[7 * ld] = r1.3
                o0[8 * ld] = r2.0; o0[9 * ld] = r2.1; o0[10 * ld] = r2.2; o0[11 * ld] = r2.3
                o0[12 * ld] = r3.0; o0[13 * ld] = r3.1; o0[14 * ld] = r3.2; o0[15 * ld] = r3.3
                p += 1
            }
            let b = bias?[oc] ?? 0
            for j in 0..<count {
                let dst = y + (j * o + oc) * plane
                for ty in 0..<th { for tx in 0..<tw {
                    let tile = ty * tw + tx, t = out + (vector ? tile * count + j : j * perImage + tile)
                    let oy = 4 * ty, ox = 4 * tx
                    if full {
                        for r in 0..<4 {
                            let row = dst + ((oy + r) &* w &+ ox), e = t + 4 &* r &* ld
                            row[0] = e[0] + b; row[1] = e[ld] + b; row[2] = e[2 &* ld] + b; row[3] = e[3 &* ld] + b
                        }
                        continue
                    }
                    let rows = Swift.min(4, h - oy), cols = Swift.min(4, w - ox)
                    for r in 0..<rows { let row = dst + (oy + r) * w + ox; for q in 0..<cols { row[q] = t[(4 * r + q) * ld] + b } }
                } }
            }
        }
    }
}

/// The arithmetic of the F(4x4, 3x3) transforms, for Float (the scalar loops) and its 8-lane
/// vectors (8 tiles or 8 images at once): each lane performs the scalar operations in the same
/// order, so the two paths give the same bits.
protocol WinogradLanes {
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Float, rhs: Self) -> Self
}
extension Float: WinogradLanes {}
extension SIMD8: WinogradLanes where Scalar == Float {}

/// Bᵀ (d0 ... d5), a column or row of a 6x6 patch:
/// (4d0 − 5d2 + d4, −4(d1 + d2) + d3 + d4, 4(d1 − d2) − d3 + d4, 2(d3 − d1) − d2 + d4, 2(d1 − d3) − d2 + d4, 4d1 − 5d3 + d5).
@inline(__always)
private func bT<F: WinogradLanes>(_ a: F, _ b: F, _ c: F, _ d: F, _ e: F, _ f: F) -> (F, F, F, F, F, F) {
    let two: Float = 2, four: Float = 4, five: Float = 5, minusFour: Float = -4
    let r0 = four * a - five * c + e, r1 = minusFour * (b + c) + d + e, r2 = four * (b - c) - d + e
    let r3 = two * (d - b) - c + e, r4 = two * (b - d) - c + e, r5 = four * b - five * d + f
    return (r0, r1, r2, r3, r4, r5)
}

/// Aᵀ (m0 ... m5): (m0 + m1 + m2 + m3 + m4, m1 − m2 + 2(m3 − m4), m1 + m2 + 4(m3 + m4), m1 − m2 + 8(m3 − m4) + m5).
@inline(__always)
private func aT<F: WinogradLanes>(_ m0: F, _ m1: F, _ m2: F, _ m3: F, _ m4: F, _ m5: F) -> (F, F, F, F) {
    let two: Float = 2, four: Float = 4, eight: Float = 8
    let p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4
    return (m0 + p12 + p34, d12 + two * d34, p12 + four * p34, d12 + eight * d34 + m5)
}

/// One row r of Bᵀ d over a row of `tw` tiles -> for each tile tx, r[4tx ..< 4tx+6] B, element i at
/// p + i·stride + tx.
@inline(__always)
private func rowTimesB4(_ t: UnsafePointer<Float>, _ p: UnsafeMutablePointer<Float>, _ stride: Int, _ tw: Int) {
    for tx in 0..<tw {
        let r = t + 4 * tx, o = bT(r[0], r[1], r[2], r[3], r[4], r[5])
        p[tx] = o.0; p[stride + tx] = o.1; p[2 * stride + tx] = o.2
        p[3 * stride + tx] = o.3; p[4 * stride + tx] = o.4; p[5 * stride + tx] = o.5
    }
}

/// Inference forward of a convolution: F(4x4, 3x3) where it applies (3x3/1/1 on maps of 8x8 and
/// more, `ConvTuning.winograd4x4`), else `conv2dForward`. x [N,C,H,W], weight [O,C,k,k], bias [O] -> y [N,O,Ho,Wo].
public func conv2dInferenceForward(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int) -> Tensor {
    if x.rank == 4 && weight.rank == 4 && x.shape[1] == weight.shape[1] && weight.shape[2] == weight.shape[3] {
        let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                             o: weight.shape[0], k: weight.shape[2], stride: stride, padding: padding)
        if Winograd4.applies(g) { return winograd4Conv(x, weight: weight, bias: bias, g) }
    }
    return conv2dForward(x, weight: weight, bias: bias, stride: stride, padding: padding)
}

/// Forward of a 3x3/1/1 convolution by F(4x4, 3x3). x [N, C, H, W], weight [O, C, 3, 3] -> y [N, O, H, W].
/// `transformed`: U of the weight (`Winograd4.transformWeight`) kept by the caller, or nil to transform here.
func winograd4Conv(_ x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, transformed: [Float]? = nil) -> Tensor {
    let tiles = Winograd4Tiles(h: g.h, w: g.w)
    let plan = Winograd4.plan(g, tiles)
    let u = transformed ?? weight.data.withUnsafeBufferPointer { Winograd4.transformWeight($0.baseAddress!, o: g.o, c: g.c) }
    precondition(u.count == 36 * g.o * g.c, "winograd4Conv: transformed weight of \(u.count), expected \(36 * g.o * g.c)")
    let pmax = plan.imagesPerGroup * tiles.perImage
    // vector transforms with V and M columns tile-major (t·count + j), else scalar loops, image-major
    let vector = ConvTuning.winogradVectorTransforms, groupScratch = tiles.groupScratchSize(images: plan.imagesPerGroup)
    var y = Tensor(uninitializedShape: [g.n, g.o, g.h, g.w])   // every element written below
    let biasData = bias?.data ?? []
    x.data.withUnsafeBufferPointer { px in u.withUnsafeBufferPointer { pu in biasData.withUnsafeBufferPointer { pb in
    y.data.withUnsafeMutableBufferPointer { py in
        let xp = px.baseAddress!, up = pu.baseAddress!, yp = py.baseAddress!, bp = bias == nil ? nil : pb.baseAddress
        let inImage = g.c * g.h * g.w, outImage = g.o * g.h * g.w
        plan.run { _, groupRange in
            let skew = Winograd.planeSkew
            var v = [Float](unsafeUninitializedCapacity: 36 * (g.c * pmax + skew)) { $1 = $0.count }
            var m = [Float](unsafeUninitializedCapacity: 36 * (g.o * pmax + skew)) { $1 = $0.count }
            var pads = [Float](unsafeUninitializedCapacity: vector ? groupScratch * (plan.parallel ? 1 : plannedChunks(g.c))
                                                                        : tiles.scratchSize * plan.imagesPerGroup) { $1 = $0.count }
            // [16, P] per output channel when the channels are split over threads, else one
            var outs = [Float](unsafeUninitializedCapacity: 16 * pmax * (plan.parallel ? 1 : g.o)) { $1 = $0.count }
            v.withUnsafeMutableBufferPointer { pv in m.withUnsafeMutableBufferPointer { pm in pads.withUnsafeMutableBufferPointer { pp in
            outs.withUnsafeMutableBufferPointer { po in
                let vp = pv.baseAddress!, mp = pm.baseAddress!, padp = pp.baseAddress!, outp = po.baseAddress!
                for gi in groupRange {
                    let imgs = plan.images(ofGroup: gi, n: g.n), count = imgs.count, ld = count * tiles.perImage
                    let xg = xp + imgs.lowerBound * inImage, yg = yp + imgs.lowerBound * outImage
                    let vPlane = g.c * ld + skew, mPlane = g.o * ld + skew
                    if vector {
                        if plan.parallel {
                            tiles.transformInputGroup(xg, c: g.c, count: count, channels: 0..<g.c, vp, ld: ld, plane: vPlane, scratch: padp)
                        } else {
                            // groups in turn: the input channels on all threads, each with its own interleaved planes
                            parallelChunks(g.c) { chunk, r in
                                tiles.transformInputGroup(xg, c: g.c, count: count, channels: r, vp, ld: ld, plane: vPlane,
                                                          scratch: padp + chunk * groupScratch)
                            }
                        }
                    } else {
                        plan.eachImage(count) { j in
                            tiles.transformInput(xg, c: g.c, image: j, vp, ld: ld, plane: vPlane, scratch: padp + j * tiles.scratchSize)
                        }
                    }
                    for xi in 0..<36 {
                        sgemm(m: g.o, n: ld, k: g.c, a: up + xi * g.o * g.c, b: vp + xi * vPlane, c: mp + xi * mPlane)
                    }
                    if plan.parallel {
                        tiles.transformOutput(mp, o: g.o, ld: ld, plane: mPlane, bias: bp, channels: 0..<g.o, yg, scratch: outp,
                                              vector: vector)
                    } else {
                        // groups in turn: the output channels on all threads, each with its own [16, P] slice
                        parallelFor(g.o) { r in
                            tiles.transformOutput(mp, o: g.o, ld: ld, plane: mPlane, bias: bp, channels: r, yg,
                                                  scratch: outp + r.lowerBound * 16 * ld, vector: vector)
                        }
                    }
                }
            } } } }
        }
    } } } }
    return y
}

extension ConvTuning {
    /// F(4x4, 3x3) input transforms 8 images at a time (tile-major V and M columns) and output
    /// transforms 8 tiles at a time, in vectors; false: every tile by the scalar loops, columns
    /// image-major (the same operations per element: WinogradF4Tests holds the two equal bit for bit).
    nonisolated(unsafe) public static var winogradVectorTransforms = true

    /// Inference forwards (eval mode) of 3x3 stride-1 padding-1 layers on maps of at least 8x8 by
    /// Winograd F(4x4, 3x3) (ConvWinograd4x4.swift; needs `winograd`); false: F(2x2, 3x3) there too.
    nonisolated(unsafe) public static var winograd4x4 = true
}
