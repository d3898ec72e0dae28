import Tensors

// im2col / col2im through a tap table, and the weight packing that lets a convolution skip the
// kernel taps that only ever read zero padding (on tiny maps: a 3x3 pad-1 conv on 1x1 maps uses
// its centre tap only, so its GEMM is 9x shorter). Used by ConvKernels.swift.

/// The kernel taps of a geometry that read the input for at least one output, and where they read.
/// Shapes: `taps` [T] (tap index ky·k+kx, ascending), `offsets` [T, Ho·Wo] = iy·W+ix within an input
/// plane, or -1 where the tap reads padding.
struct ConvTaps {
    let taps: [Int]
    let offsets: [Int32]
    let hw: Int
    let kk: Int
    var count: Int { taps.count }
    /// Every tap is used: weights and their gradients need no packing.
    var all: Bool { taps.count == kk }

    init(_ g: ConvGeometry) {
        let (k, s, p, ho, wo) = (g.k, g.stride, g.padding, g.ho, g.wo)
        hw = ho * wo; kk = k * k
        var taps: [Int] = [], offsets: [Int32] = []
        for ky in 0..<k {
            for kx in 0..<k {
                var row = [Int32](repeating: -1, count: ho * wo), used = false
                for oy in 0..<ho {
                    let iy = oy * s - p + ky
                    if iy < 0 || iy >= g.h { continue }
                    for ox in 0..<wo {
                        let ix = ox * s - p + kx
                        if ix < 0 || ix >= g.w { continue }
                        row[oy * wo + ox] = Int32(iy * g.w + ix); used = true
                    }
                }
                if used { taps.append(ky * k + kx); offsets += row }
            }
        }
        self.taps = taps; self.offsets = offsets
    }

    /// Rows of the im2col matrix: C·T.
    func rows(_ g: ConvGeometry) -> Int { g.c * count }

    /// weight [O, C, k, k] -> packed [O, C·T] (only the used taps). Shapes as the GEMM reads them.
    func pack(_ w: UnsafePointer<Float>, _ g: ConvGeometry) -> [Float] {
        let t = count
        var out = [Float](repeating: 0, count: g.o * g.c * t)
        for oc in 0..<(g.o * g.c) { for i in 0..<t { out[oc * t + i] = w[oc * kk + taps[i]] } }
        return out
    }

    /// Adds packed [O, C·T] into dWeight [O, C, k, k] (unused taps get nothing: they read only zeros).
    func unpackAdd(_ packed: UnsafePointer<Float>, _ g: ConvGeometry, into dw: UnsafeMutablePointer<Float>) {
        let t = count
        for oc in 0..<(g.o * g.c) { for i in 0..<t { dw[oc * kk + taps[i]] += packed[oc * t + i] } }
    }
}

/// One image x [C, H, W] -> columns dst[(c, t), q] (q = oy·Wo+ox) with row stride `ld`; padding -> 0.
func im2col(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ taps: ConvTaps, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let hw = taps.hw, t = taps.count, plane = g.h * g.w
    taps.offsets.withUnsafeBufferPointer { po in
        let off = po.baseAddress!
        for c in 0..<g.c {
            let x = src + c * plane
            for i in 0..<t {
                let row = dst + (c * t + i) * ld, idx = off + i * hw
                for q in 0..<hw { let o = Int(idx[q]); let v = x[Swift.max(o, 0)]; row[q] = o >= 0 ? v : 0 }
            }
        }
    }
}

/// Adds columns src[(c, t), q] (row stride `ld`) back into one image dx [C, H, W].
/// Within one tap row the offsets are distinct, so the adds never collide.
func col2im(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ taps: ConvTaps, _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let hw = taps.hw, t = taps.count, plane = g.h * g.w
    taps.offsets.withUnsafeBufferPointer { po in
        let off = po.baseAddress!
        for c in 0..<g.c {
            let x = dst + c * plane
            for i in 0..<t {
                let row = src + (c * t + i) * ld, idx = off + i * hw
                for q in 0..<hw { let o = Int(idx[q]); if o >= 0 { x[o] += row[q] } }
            }
        }
    }
}

/// Group columns tmp[o, j·hw + q] (row stride `width`) -> images y[n0 + j, o, q] for j in 0..<count,
/// or the reverse (`toColumns`). Short rows are copied element by element (no memcpy per row).
func copyColumns(_ tmp: UnsafeMutablePointer<Float>, width: Int, images y: UnsafeMutablePointer<Float>,
                 o: Int, hw: Int, j: Int, toColumns: Bool) {
    let img = y + j * o * hw, col = tmp + j * hw
    if hw >= 16 {
        for oc in 0..<o {
            if toColumns { (col + oc * width).update(from: img + oc * hw, count: hw) }
            else { (img + oc * hw).update(from: col + oc * width, count: hw) }
        }
    } else {
        for q in 0..<hw {
            if toColumns { for oc in 0..<o { col[oc * width + q] = img[oc * hw + q] } }
            else { for oc in 0..<o { img[oc * hw + q] = col[oc * width + q] } }
        }
    }
}
