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
        let whole = ConvTaps.wholeMapClass(g)
        kk = g.k * g.k
        classes = g.ho * g.wo <= 16 ? ConvTaps.positionClasses(g, whole) ?? [whole] : [whole]
    }

    /// The one class of every output position in order, with the taps that read input somewhere.
    static func wholeMapClass(_ g: ConvGeometry) -> ConvClass {
        let (k, s, p, hw) = (g.k, g.stride, g.padding, g.ho * g.wo)
        var used: [Int] = [], offsets: [Int32] = []
        for ky in 0..<k { for kx in 0..<k {
            var row = [Int32](repeating: -1, count: hw), any = false
            for oy in 0..<g.ho { for ox in 0..<g.wo {
                let iy = oy * s - p + ky, ix = ox * s - p + kx
                if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w { row[oy * g.wo + ox] = Int32(iy * g.w + ix); any = true }
            } }
            if any { used.append(ky * k + kx); offsets += row }
        } }
        return ConvClass(taps: used, positions: Array(0..<hw), offsets: offsets, identity: true)
    }

    /// Output positions grouped by their set of valid taps (in order of first appearance), or nil
    /// when splitting saves less than 20% of the whole-map class's work.
    static func positionClasses(_ g: ConvGeometry, _ whole: ConvClass) -> [ConvClass]? {
        let hw = whole.p, nt = whole.t
        var keys: [[Int]] = [], members: [[Int]] = []
        for q in 0..<hw {
            let key = (0..<nt).filter { whole.offsets[$0 * hw + q] >= 0 }
            if let i = keys.firstIndex(of: key) { members[i].append(q) } else { keys.append(key); members.append([q]) }
        }
        let splitCost = zip(keys, members).reduce(0) { $0 + $1.0.count * $1.1.count }
        guard keys.count > 1 && splitCost * 5 <= nt * hw * 4 else { return nil }
        return zip(keys, members).map { ti, qs in
            ConvClass(taps: ti.map { whole.taps[$0] }, positions: qs,
                      offsets: ti.flatMap { i in qs.map { whole.offsets[i * hw + $0] } }, identity: false)
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
        let size = packedSize(g), rows = g.o * g.c, kk = kk
        return [Float](unsafeUninitializedCapacity: size) { buf, initialized in
            var dst = buf.baseAddress!
            for cl in classes {
                let t = cl.t
                cl.taps.withUnsafeBufferPointer { tp in
                    for oc in 0..<rows { let src = w + oc * kk, d = dst + oc * t; for i in 0..<t { d[i] = src[tp[i]] } }
                }
                dst += rows * t
            }
            initialized = size
        }
    }

    /// Adds every class's packed [O, C·T] into dWeight [O, C, k, k] (unused taps read only zeros).
    func unpackAdd(_ packed: UnsafePointer<Float>, _ g: ConvGeometry, into dw: UnsafeMutablePointer<Float>) {
        var src = packed
        let rows = g.o * g.c, kk = kk
        for cl in classes {
            let t = cl.t
            cl.taps.withUnsafeBufferPointer { tp in
                for oc in 0..<rows { let d = dw + oc * kk, s = src + oc * t; for i in 0..<t { d[tp[i]] += s[i] } }
            }
            src += rows * t
        }
    }
}

/// One image x [C, H, W] -> columns dst[(c, t), p] of one class with row stride `ld`; padding -> 0.
/// The whole-map class goes by row runs (ConvRows.swift), position classes by the tap table.
func im2col(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ cl: ConvClass, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    if cl.identity { im2colRows(src, g, taps: cl.taps, dst, ld: ld) } else { im2colGather(src, g, cl, dst, ld: ld) }
}

/// Adds columns src[(c, t), p] of one class (row stride `ld`) back into one image dx [C, H, W].
func col2im(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ cl: ConvClass, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    if cl.identity { col2imRows(src, g, taps: cl.taps, dst, ld: ld) } else { col2imGather(src, g, cl, dst, ld: ld) }
}

/// The im2col matrix [C·T, Ho·Wo] of image `image` of x [N, C, H, W] for the whole-map class
/// (T = taps that read input), by row runs (`rows: true`) or by the tap-table gather (the
/// reference). `addBack` instead adds `columns` into a zero image by col2im and returns it
/// [C, H, W]. Exposed for tests.
public func convColumnsWholeMap(_ x: Tensor, image: Int, kernelSize k: Int, stride: Int, padding: Int,
                                rows: Bool, addBack columns: [Float]? = nil) -> [Float] {
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], o: 1, k: k, stride: stride, padding: padding)
    let cl = ConvTaps.wholeMapClass(g), hw = g.ho * g.wo, chw = g.c * g.h * g.w
    return x.data.withUnsafeBufferPointer { px in
        if let columns {
            precondition(columns.count == g.c * cl.t * hw, "convColumnsWholeMap: \(columns.count) columns, expected \(g.c * cl.t * hw)")
            var img = [Float](repeating: 0, count: chw)
            columns.withUnsafeBufferPointer { pc in img.withUnsafeMutableBufferPointer { pi in
                if rows { col2imRows(pc.baseAddress!, g, taps: cl.taps, pi.baseAddress!, ld: hw) }
                else { col2imGather(pc.baseAddress!, g, cl, pi.baseAddress!, ld: hw) }
            } }
            return img
        }
        var cols = [Float](repeating: .nan, count: g.c * cl.t * hw)
        cols.withUnsafeMutableBufferPointer { pc in
            let src = px.baseAddress! + image * chw
            if rows { im2colRows(src, g, taps: cl.taps, pc.baseAddress!, ld: hw) } else { im2colGather(src, g, cl, pc.baseAddress!, ld: hw) }
        }
        return cols
    }
}

/// Tap-table gather: one image x [C, H, W] -> columns dst[(c, t), p] of one class; padding -> 0.
func im2colGather(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ cl: ConvClass, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    eachTapRow(UnsafeMutablePointer(mutating: src), g, cl, dst, ld: ld) { x, row, idx, np in   // x read only
        for q in 0..<np { let o = Int(idx[q]); let v = x[Swift.max(o, 0)]; row[q] = o >= 0 ? v : 0 }
    }
}

/// Tap-table scatter: adds columns src[(c, t), p] of one class back into one image dx [C, H, W].
/// Within one tap row the offsets are distinct, so the adds never collide.
func col2imGather(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ cl: ConvClass, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    eachTapRow(dst, g, cl, UnsafeMutablePointer(mutating: src), ld: ld) { x, row, idx, np in   // row read only
        for q in 0..<np { let o = Int(idx[q]); if o >= 0 { x[o] += row[q] } }
    }
}

/// The (channel, tap) rows of one class: body(input plane of channel c, column row (c, t) with
/// row stride `ld`, the tap's P input offsets (−1: padding), P).
private func eachTapRow(_ image: UnsafeMutablePointer<Float>, _ g: ConvGeometry, _ cl: ConvClass,
                        _ columns: UnsafeMutablePointer<Float>, ld: Int,
                        _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafePointer<Int32>, Int) -> Void) {
    let np = cl.p, t = cl.t, plane = g.h * g.w
    cl.offsets.withUnsafeBufferPointer { po in
        let off = po.baseAddress!
        for c in 0..<g.c {
            for i in 0..<t { body(image + c * plane, columns + (c * t + i) * ld, off + i * np, np) }
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
    // channel-major: each channel row read or written in one sweep over the positions
    cl.positions.withUnsafeBufferPointer { pq in
        let pos = pq.baseAddress!
        for oc in 0..<o {
            let c = col + oc * width, im = img + oc * hw
            if toColumns { for p in 0..<np { c[p] = im[pos[p]] } } else { for p in 0..<np { im[pos[p]] = c[p] } }
        }
    }
}
