import Tensors

// im2col / col2im through tap tables, and the weight packing that lets a convolution skip the
// kernel taps that only read zero padding. On tiny maps the output positions are split into
// classes that read through the same taps (a 3x3 pad-1 conv on 2x2 maps: 4 positions x 4 taps
// instead of 4 x 9), each class one GEMM with its own packed weights; on 1x1 maps only the centre
// tap is left (9x shorter GEMMs). Used by ConvKernels.swift; ConvReference.swift is the reference.

/// Output positions that read the input through the same kernel taps.
/// Shapes: `taps` [T] (tap index ky·k+kx, ascending), `positions` [P] (q = oy·Wo+ox, ascending),
/// `offsets` [T, P] = iy·W+ix within an input plane, or -1 where the tap reads padding.
struct ConvClass {
    let taps: [Int]
    let positions: [Int]
    let offsets: [Int32]
    /// Positions are all of 0..<Ho·Wo in order (columns need no reordering).
    let identity: Bool
    var p: Int { positions.count }
    var t: Int { taps.count }
}

/// The classes of a geometry (one class with the union of used taps unless splitting saves ≥ 20%).
struct ConvTaps {
    let classes: [ConvClass]
    let kk: Int
    /// One class, every position, every tap: weights and gradients need no packing.
    var plain: Bool { classes.count == 1 && classes[0].identity && classes[0].t == kk }

    init(_ g: ConvGeometry) {
        let (k, s, p, ho, wo) = (g.k, g.stride, g.padding, g.ho, g.wo)
        let hw = ho * wo
        kk = k * k
        // offset[tap][q], -1 = padding
        var off = [[Int32]](repeating: [Int32](repeating: -1, count: hw), count: kk)
        for ky in 0..<k { for kx in 0..<k { for oy in 0..<ho { for ox in 0..<wo {
            let iy = oy * s - p + ky, ix = ox * s - p + kx
            if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w { off[ky * k + kx][oy * wo + ox] = Int32(iy * g.w + ix) }
        } } } }
        let used = (0..<kk).filter { t in off[t].contains { $0 >= 0 } }
        // positions grouped by their set of valid taps, in order of first appearance
        var keys: [[Int]] = [], members: [[Int]] = []
        for q in 0..<hw {
            let key = used.filter { off[$0][q] >= 0 }
            if let i = keys.firstIndex(of: key) { members[i].append(q) } else { keys.append(key); members.append([q]) }
        }
        let splitCost = zip(keys, members).reduce(0) { $0 + $1.0.count * $1.1.count }
        if hw <= 16 && keys.count > 1 && splitCost * 5 <= used.count * hw * 4 {
            classes = zip(keys, members).map { taps, qs in
                ConvClass(taps: taps, positions: qs, offsets: taps.flatMap { t in qs.map { off[t][$0] } }, identity: false)
            }
        } else {
            classes = [ConvClass(taps: used, positions: Array(0..<hw), offsets: used.flatMap { off[$0] }, identity: true)]
        }
    }

    /// Largest C·T·P over the classes (im2col buffer per image) and largest P.
    func maxColumnRows(_ g: ConvGeometry) -> Int { classes.map { g.c * $0.t * $0.p }.max() ?? 0 }
    var maxPositions: Int { classes.map(\.p).max() ?? 0 }
    var minPositions: Int { classes.map(\.p).min() ?? 0 }
    /// Packed weight size of every class together: Σ O·C·T.
    func packedSize(_ g: ConvGeometry) -> Int { classes.reduce(0) { $0 + g.o * g.c * $1.t } }

    /// weight [O, C, k, k] -> per class packed [O, C·T] (only that class's taps), concatenated.
    func pack(_ w: UnsafePointer<Float>, _ g: ConvGeometry) -> [Float] {
        var out = [Float](repeating: 0, count: packedSize(g)), base = 0
        for cl in classes {
            let t = cl.t
            for oc in 0..<(g.o * g.c) { for i in 0..<t { out[base + oc * t + i] = w[oc * kk + cl.taps[i]] } }
            base += g.o * g.c * t
        }
        return out
    }

    /// Adds every class's packed [O, C·T] into dWeight [O, C, k, k] (unused taps read only zeros).
    func unpackAdd(_ packed: UnsafePointer<Float>, _ g: ConvGeometry, into dw: UnsafeMutablePointer<Float>) {
        var base = 0
        for cl in classes {
            let t = cl.t
            for oc in 0..<(g.o * g.c) { for i in 0..<t { dw[oc * kk + cl.taps[i]] += packed[base + oc * t + i] } }
            base += g.o * g.c * t
        }
    }
}

/// One image x [C, H, W] -> columns dst[(c, t), p] of one class with row stride `ld`; padding -> 0.
func im2col(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ cl: ConvClass, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let np = cl.p, t = cl.t, plane = g.h * g.w
    cl.offsets.withUnsafeBufferPointer { po in
        let off = po.baseAddress!
        for c in 0..<g.c {
            let x = src + c * plane
            for i in 0..<t {
                let row = dst + (c * t + i) * ld, idx = off + i * np
                for q in 0..<np { let o = Int(idx[q]); let v = x[Swift.max(o, 0)]; row[q] = o >= 0 ? v : 0 }
            }
        }
    }
}

/// Adds columns src[(c, t), p] of one class (row stride `ld`) back into one image dx [C, H, W].
/// Within one tap row the offsets are distinct, so the adds never collide.
func col2im(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ cl: ConvClass, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let np = cl.p, t = cl.t, plane = g.h * g.w
    cl.offsets.withUnsafeBufferPointer { po in
        let off = po.baseAddress!
        for c in 0..<g.c {
            let x = dst + c * plane
            for i in 0..<t {
                let row = src + (c * t + i) * ld, idx = off + i * np
                for q in 0..<np { let o = Int(idx[q]); if o >= 0 { x[o] += row[q] } }
            }
        }
    }
}

/// Class columns tmp[o, j·P + p] (row stride `width`) -> image rows y[j, o, positions[p]] (images
/// of O·hw floats from `y`), or the reverse (`toColumns`). Short rows go element by element.
func copyColumns(_ tmp: UnsafeMutablePointer<Float>, width: Int, images y: UnsafeMutablePointer<Float>,
                 o: Int, hw: Int, _ cl: ConvClass, j: Int, toColumns: Bool) {
    let np = cl.p, img = y + j * o * hw, col = tmp + j * np
    if cl.identity && hw >= 16 {
        for oc in 0..<o {
            if toColumns { (col + oc * width).update(from: img + oc * hw, count: hw) }
            else { (img + oc * hw).update(from: col + oc * width, count: hw) }
        }
        return
    }
    for p in 0..<np {
        let q = cl.positions[p]
        if toColumns { for oc in 0..<o { col[oc * width + p] = img[oc * hw + q] } }
        else { for oc in 0..<o { img[oc * hw + q] = col[oc * width + p] } }
    }
}
