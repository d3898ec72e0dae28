import Tensors

// Winograd F(2x2, 3x3) (Lavin & Gray 2016) for 3x3 stride-1 padding-1 convolutions on maps of at
// least 4x4: each 2x2 output tile comes from a 4x4 input patch with 16 multiplies per (input,
// output channel) pair instead of 36, the multiplies batched into 16 GEMMs (one per transformed
// position ξ) over the tiles of a group of images:
//   forward        U = G g Gᵀ [16, O, C], V = Bᵀ d B [16, C, P], M[ξ] = U[ξ]·V[ξ], y = Aᵀ M A
//   backward-data  the same convolution of dOut with the weight transposed (O <-> C) and flipped
//   backward-weight (its transpose) Z = A dY Aᵀ [16, O, P], S[ξ] += Z[ξ]·V[ξ]ᵀ, dW += Gᵀ S G
//                  (only with ConvTuning.winogradWeightGradient: slower than im2col + sgemm today)
// P = images in the group × ceil(H/2)·ceil(W/2) tiles. Patches reading outside the map read zeros,
// outputs of partial tiles (odd H or W) are dropped. Plain Swift arithmetic (no ISA-specific SIMD);
// the direct loops of ConvReference.swift are the reference (WinogradTests).

enum Winograd {
    /// Whether `g` takes the Winograd path (smaller maps gain nothing over the tap classes).
    static func applies(_ g: ConvGeometry) -> Bool {
        ConvTuning.winograd && g.k == 3 && g.stride == 1 && g.padding == 1 && g.h >= 4 && g.w >= 4
    }

    /// Floats between consecutive ξ planes of V, M and Z beyond their C·ld (O·ld) values. Plane
    /// sizes are multiples of 4 KB on ResNet shapes (e.g. 64 channels × 64 columns), so the 16
    /// planes a transform writes (or reads) at once all fell into the same L1 cache sets; 16
    /// floats (one cache line) apart they do not. 0: planes back to back. Only the layout in
    /// scratch changes: the same values, bit for bit (WinogradTests).
    static var planeSkew: Int { ConvTuning.winogradPlaneSkew }

    /// Images grouped so that a group's V and M [16, C + O, P] stay within ~512 KB (the L2 of
    /// one core): smaller GEMMs, but the transforms read and write cache instead of memory.
    static func plan(_ g: ConvGeometry, _ tiles: WinogradTiles) -> ConvPlan {
        let budget = Swift.max(16, 8192 / Swift.max(1, g.c + g.o))
        return ConvPlan(g, columnsPerImage: tiles.perImage, minColumns: Swift.min(ConvTuning.minColumns, budget))
    }

    /// weight [O, C, 3, 3] -> U [16, O, C], U[·, o, c] = G g Gᵀ; `flip` instead transforms the
    /// backward-data weight g'[c, o] = rot180(g[o, c]) into U [16, C, O]. Blocks of 64 (o, c)
    /// pairs go through a small [16, 64] buffer so that every store into U is sequential.
    static func transformWeight(_ w: UnsafePointer<Float>, o: Int, c: Int, flip: Bool) -> [Float] {
        let cols = flip ? o : c, plane = o * c, block = 64
        return [Float](unsafeUninitializedCapacity: 16 * plane) { u, initialized in
            let up = u.baseAddress!
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * block) { buf in
                let t = buf.baseAddress!
                var start = 0
                while start < plane {
                    let n = Swift.min(block, plane - start)
                    for e in 0..<n {
                        let r = (start + e) / cols, q = (start + e) % cols
                        let src = w + (flip ? q * c + r : r * c + q) * 9
                        @inline(__always) func gv(_ i: Int) -> Float { src[flip ? 8 - i : i] }
                        // rows of G g: g0, (g0+g1+g2)/2, (g0−g1+g2)/2, g2; then each row (a, b, d) Gᵀ
                        for i in 0..<4 {
                            var row = SIMD3<Float>()
                            for j in 0..<3 {
                                let a = gv(j), b = gv(3 + j), d = gv(6 + j)
                                row[j] = i == 0 ? a : i == 1 ? 0.5 * (a + b + d) : i == 2 ? 0.5 * (a - b + d) : d
                            }
                            let (a, b, d) = (row[0], row[1], row[2]), dst = t + 4 * i * block + e
                            dst[0] = a; dst[block] = 0.5 * (a + b + d); dst[2 * block] = 0.5 * (a - b + d); dst[3 * block] = d
                        }
                    }
                    for xi in 0..<16 { (up + xi * plane + start).update(from: t + xi * block, count: n) }
                    start += n
                }
            }
            initialized = 16 * plane
        }
    }
}

/// 2x2 tiles of one image and the zero-padded plane the 4x4 input patches are read from.
struct WinogradTiles: WinogradTiling {
    static let tile = 2
    let h, w, th, tw: Int
    init(h: Int, w: Int) { self.h = h; self.w = w; th = Self.tiles(h); tw = Self.tiles(w) }

    /// Images x [count, C, H, W] -> V[ξ, c, j·T + t] (row stride `ld`, ξ stride C·ld) = Bᵀ d B.
    /// Per row of tiles: Bᵀ d over whole padded rows, then (Bᵀ d) B along the row, each a loop
    /// over contiguous memory the compiler vectorises.
    func transformInput(_ x: UnsafePointer<Float>, c: Int, image j: Int, _ v: UnsafeMutablePointer<Float>, ld: Int,
                        plane xi: Int, scratch pad: UnsafeMutablePointer<Float>) {
        let pw = padW, tw = tw
        let t0 = pad + padSize, t1 = t0 + pw, t2 = t1 + pw, t3 = t2 + pw
        forEachPaddedChannel(x, c: c, image: j, v, ld: ld, pad: pad) { out in
            for ty in 0..<th {
                let d0 = pad + 2 * ty * pw, d1 = d0 + pw, d2 = d1 + pw, d3 = d2 + pw
                for k in 0..<pw { let a = d0[k], b = d1[k], e = d2[k], f = d3[k]; t0[k] = a - e; t1[k] = b + e; t2[k] = e - b; t3[k] = b - f }
                let o = out + ty * tw
                rowTimesB(t0, o, xi, tw); rowTimesB(t1, o + 4 * xi, xi, tw)
                rowTimesB(t2, o + 8 * xi, xi, tw); rowTimesB(t3, o + 12 * xi, xi, tw)
            }
        }
    }

    /// M[ξ, o, j·T + t] (row stride `ld`, ξ stride O·ld) -> image j of y [·, O, H, W] = Aᵀ M A (+ bias).
    func transformOutput(_ m: UnsafePointer<Float>, o: Int, ld: Int, plane xi: Int, bias: UnsafePointer<Float>?,
                         image j: Int, _ y: UnsafeMutablePointer<Float>) {
        let plane = h * w
        for oc in 0..<o {
            let b = bias?[oc] ?? 0, dst = y + (j * o + oc) * plane, src = m + oc * ld + j * perImage
            for ty in 0..<th { for tx in 0..<tw {
                let s = src + ty * tw + tx
                // Aᵀ M: u0 = m0 + m1 + m2, u1 = m1 − m2 − m3 (rows of 4)
                var u0 = SIMD4<Float>(), u1 = SIMD4<Float>()
                for k in 0..<4 {
                    let m0 = s[k * xi], m1 = s[(4 + k) * xi], m2 = s[(8 + k) * xi], m3 = s[(12 + k) * xi]
                    u0[k] = m0 + m1 + m2; u1[k] = m1 - m2 - m3
                }
                let oy = 2 * ty, ox = 2 * tx, row = dst + oy * w + ox
                let two = ox + 1 < w
                row[0] = u0[0] + u0[1] + u0[2] + b
                if two { row[1] = u0[1] - u0[2] - u0[3] + b }
                if oy + 1 < h {
                    row[w] = u1[0] + u1[1] + u1[2] + b
                    if two { row[w + 1] = u1[1] - u1[2] - u1[3] + b }
                }
            } }
        }
    }

    /// Image j of dY [·, O, H, W] -> Z[ξ, o, j·T + t] (row stride `ld`, ξ stride O·ld) = A dY Aᵀ
    /// (dY outside the map read as 0).
    func transformGradient(_ dy: UnsafePointer<Float>, o: Int, image j: Int, _ z: UnsafeMutablePointer<Float>, ld: Int,
                           plane xi: Int) {
        let plane = h * w
        for oc in 0..<o {
            let src = dy + (j * o + oc) * plane, out = z + oc * ld + j * perImage
            for ty in 0..<th { for tx in 0..<tw {
                let oy = 2 * ty, ox = 2 * tx, row = src + oy * w + ox
                let two = ox + 1 < w, down = oy + 1 < h
                let a0 = row[0], b0: Float = two ? row[1] : 0
                let a1: Float = down ? row[w] : 0, b1: Float = down && two ? row[w + 1] : 0
                // A dY: rows (a0,b0), (a0+a1, b0+b1), (a0−a1, b0−b1), (−a1, −b1); then each (a, b) -> (a, a+b, a−b, −b)
                let p = out + ty * tw + tx
                store2(a0, b0, p, xi); store2(a0 + a1, b0 + b1, p + 4 * xi, xi)
                store2(a0 - a1, b0 - b1, p + 8 * xi, xi); store2(-a1, -b1, p + 12 * xi, xi)
            } }
        }
    }
}

/// One row t of Bᵀ d over a row of `tw` tiles -> for each tile tx, (r0 − r2, r1 + r2, r2 − r1, r1 − r3)
/// of r = t[2tx ..< 2tx+4], element i at p + i·stride + tx.
@inline(__always)
private func rowTimesB(_ t: UnsafePointer<Float>, _ p: UnsafeMutablePointer<Float>, _ stride: Int, _ tw: Int) {
    let p1 = p + stride, p2 = p1 + stride, p3 = p2 + stride
    for tx in 0..<tw {
        let a = t[2 * tx], b = t[2 * tx + 1], e = t[2 * tx + 2], f = t[2 * tx + 3]
        p[tx] = a - e; p1[tx] = b + e; p2[tx] = e - b; p3[tx] = b - f
    }
}

/// One row (a, b) of A dY -> (a, b) Aᵀ = (a, a + b, a − b, −b), element i at p + i·stride.
@inline(__always)
private func store2(_ a: Float, _ b: Float, _ p: UnsafeMutablePointer<Float>, _ stride: Int) {
    p[0] = a; p[stride] = a + b; p[2 * stride] = a - b; p[3 * stride] = -b
}

/// One chunk's scratch: transformed input [a], GEMM output or transformed gradient [b], padded planes [c].
private func withWinogradScratch(_ a: Int, _ b: Int, _ c: Int,
                                 _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
    var v = [Float](unsafeUninitializedCapacity: a) { $1 = $0.count }
    var m = [Float](unsafeUninitializedCapacity: b) { $1 = $0.count }
    var pads = [Float](unsafeUninitializedCapacity: c) { $1 = $0.count }
    v.withUnsafeMutableBufferPointer { pv in m.withUnsafeMutableBufferPointer { pm in pads.withUnsafeMutableBufferPointer { pp in
        body(pv.baseAddress!, pm.baseAddress!, pp.baseAddress!)
    } } }
}

/// Forward (or, with `flip`, backward-data) of a 3x3/1/1 convolution by Winograd.
/// x [N, C, H, W], weight [O, C, 3, 3] -> y [N, O, H, W]; flip: x = dOut [N, O, H, W] -> dx [N, C, H, W].
/// `transformed`: U of the weight (`Winograd.transformWeight`) kept by the caller, or nil to transform
/// here; `residual` [N, O, H, W] and `relu`: the forward's epilogue on each output image (ConvEpilogue).
func winogradConv(_ x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry, flip: Bool,
                  transformed: [Float]? = nil, residual: Tensor? = nil, relu: Bool = false) -> Tensor {
    let (cin, cout) = flip ? (g.o, g.c) : (g.c, g.o)
    let tiles = WinogradTiles(h: g.h, w: g.w)
    let plan = Winograd.plan(g, tiles)
    let u = transformed ?? weight.data.withUnsafeBufferPointer { Winograd.transformWeight($0.baseAddress!, o: g.o, c: g.c, flip: flip) }
    precondition(u.count == 16 * g.o * g.c, "winogradConv: transformed weight of \(u.count), expected \(16 * g.o * g.c)")
    let resData = residual?.data ?? []
    let pmax = plan.imagesPerGroup * tiles.perImage
    var y = Tensor(uninitializedShape: [g.n, cout, g.h, g.w])   // every element written below
    let biasData = bias?.data ?? []
    x.data.withUnsafeBufferPointer { px in u.withUnsafeBufferPointer { pu in biasData.withUnsafeBufferPointer { pb in
    resData.withUnsafeBufferPointer { pr in y.data.withUnsafeMutableBufferPointer { py in
        let xp = px.baseAddress!, up = pu.baseAddress!, yp = py.baseAddress!, bp = bias == nil ? nil : pb.baseAddress
        let epilogue = ConvEpilogue(bias: nil, residual: residual == nil ? nil : pr.baseAddress, relu: relu)
        let inImage = cin * g.h * g.w, outImage = cout * g.h * g.w
        plan.run { _, groupRange in
            let skew = Winograd.planeSkew
            withWinogradScratch(16 * (cin * pmax + skew), 16 * (cout * pmax + skew), tiles.scratchSize * plan.imagesPerGroup) { vp, mp, padp in
                for gi in groupRange {
                    let imgs = plan.images(ofGroup: gi, n: g.n), count = imgs.count, ld = count * tiles.perImage
                    let vPlane = cin * ld + skew, mPlane = cout * ld + skew
                    let xg = xp + imgs.lowerBound * inImage, yg = yp + imgs.lowerBound * outImage
                    plan.eachImage(count) { j in
                        tiles.transformInput(xg, c: cin, image: j, vp, ld: ld, plane: vPlane, scratch: padp + j * tiles.scratchSize)
                    }
                    for xi in 0..<16 {
                        sgemm(m: cout, n: ld, k: cin, a: up + xi * cout * cin, b: vp + xi * vPlane, c: mp + xi * mPlane)
                    }
                    plan.eachImage(count) { j in
                        tiles.transformOutput(mp, o: cout, ld: ld, plane: mPlane, bias: bp, image: j, yg)
                        epilogue.apply(yp, image: imgs.lowerBound + j, o: cout, hw: g.h * g.w)
                    }
                }
            }
        }
    } } } } }
    return y
}

/// Backward-weight of a 3x3/1/1 convolution by Winograd: dWeight [O, C, 3, 3] += Σ dOut ⋆ x.
func winogradBackwardWeight(_ dOut: Tensor, input x: Tensor, _ g: ConvGeometry, into dWeight: inout Tensor) {
    let tiles = WinogradTiles(h: g.h, w: g.w)
    let plan = Winograd.plan(g, tiles)
    let pmax = plan.imagesPerGroup * tiles.perImage, ssize = 16 * g.o * g.c
    // one transformed-gradient sum S [16, O, C] per chunk
    var sums = [Float](repeating: 0, count: ssize * plan.chunks)
    dOut.data.withUnsafeBufferPointer { pd in x.data.withUnsafeBufferPointer { px in sums.withUnsafeMutableBufferPointer { ps in
        let dp = pd.baseAddress!, xp = px.baseAddress!, sp = ps.baseAddress!
        let inImage = g.c * g.h * g.w, outImage = g.o * g.h * g.w
        plan.run { chunk, groupRange in
            let acc = sp + chunk * ssize
            let skew = Winograd.planeSkew
            withWinogradScratch(16 * (g.c * pmax + skew), 16 * (g.o * pmax + skew), tiles.scratchSize * plan.imagesPerGroup) { vp, zp, padp in
                for gi in groupRange {
                    let imgs = plan.images(ofGroup: gi, n: g.n), count = imgs.count, ld = count * tiles.perImage
                    let vPlane = g.c * ld + skew, zPlane = g.o * ld + skew
                    let xg = xp + imgs.lowerBound * inImage, dg = dp + imgs.lowerBound * outImage
                    plan.eachImage(count) { j in
                        tiles.transformInput(xg, c: g.c, image: j, vp, ld: ld, plane: vPlane, scratch: padp + j * tiles.scratchSize)
                        tiles.transformGradient(dg, o: g.o, image: j, zp, ld: ld, plane: zPlane)
                    }
                    for xi in 0..<16 {
                        sgemm(transB: true, m: g.o, n: g.c, k: ld, a: zp + xi * zPlane, b: vp + xi * vPlane,
                              beta: 1, c: acc + xi * g.o * g.c)
                    }
                }
            }
        }
        for ch in 1..<plan.chunks { let s = sp + ch * ssize; for i in 0..<ssize { sp[i] += s[i] } }
    } } }
    // dW[o, c] += Gᵀ S G (4x4 -> 3x3)
    let plane = g.o * g.c
    sums.withUnsafeBufferPointer { ps in dWeight.data.withUnsafeMutableBufferPointer { pw in
        let s = ps.baseAddress!, dw = pw.baseAddress!
        for oc in 0..<plane {
            var q0 = SIMD4<Float>(), q1 = SIMD4<Float>(), q2 = SIMD4<Float>()
            for k in 0..<4 {
                let s0 = s[k * plane + oc], s1 = s[(4 + k) * plane + oc], s2 = s[(8 + k) * plane + oc], s3 = s[(12 + k) * plane + oc]
                q0[k] = s0 + 0.5 * (s1 + s2); q1[k] = 0.5 * (s1 - s2); q2[k] = 0.5 * (s1 + s2) + s3
            }
            let d = dw + oc * 9
            for i in 0..<3 {
                let r = i == 0 ? q0 : i == 1 ? q1 : q2
                d[3 * i] += r[0] + 0.5 * (r[1] + r[2])
                d[3 * i + 1] += 0.5 * (r[1] - r[2])
                d[3 * i + 2] += 0.5 * (r[1] + r[2]) + r[3]
            }
        }
    } }
}
