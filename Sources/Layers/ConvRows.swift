import Tensors

// im2col / col2im for the class that covers every output position in order (`ConvClass.identity`):
// each (channel, tap, output row) is one run of zeros, a copy of an input row segment (strided
// when stride > 1), and zeros, with no table lookup per element. The same values as the tap-table
// gather in ConvColumns.swift, which stays the path for position classes on tiny maps and is the
// reference these are tested against (ConvColumnsTests).

/// Output indices o in [lo, hi) whose input index o·s − p + tap lies in 0..<size.
@inline(__always)
func validOutputRange(tap: Int, size: Int, outSize: Int, stride s: Int, padding p: Int) -> (lo: Int, hi: Int) {
    let a = p - tap, b = size - 1 + p - tap          // o >= a/s (rounded up), o <= b/s (rounded down)
    let lo = Swift.min(outSize, a <= 0 ? 0 : (a + s - 1) / s)
    let hi = b < 0 ? 0 : Swift.min(outSize, b / s + 1)
    return (lo, Swift.max(lo, hi))
}

/// Where one tap reads input: output rows [ylo, yhi) and columns [lo, hi).
struct TapRun {
    let ky, kx, lo, hi, ylo, yhi: Int
    var empty: Bool { lo >= hi || ylo >= yhi }

    static func runs(_ g: ConvGeometry, taps: [Int]) -> [TapRun] {
        taps.map { t in
            let ky = t / g.k, kx = t % g.k
            let (lo, hi) = validOutputRange(tap: kx, size: g.w, outSize: g.wo, stride: g.stride, padding: g.padding)
            let (ylo, yhi) = validOutputRange(tap: ky, size: g.h, outSize: g.ho, stride: g.stride, padding: g.padding)
            return TapRun(ky: ky, kx: kx, lo: lo, hi: hi, ylo: ylo, yhi: yhi)
        }
    }
}

/// One image x [C, H, W] -> columns dst[(c, i), q] (i over `taps`, q = oy·Wo + ox, row stride `ld`).
/// Stride 1 with Wo = W: the valid output rows of a tap are one shifted copy of the input plane,
/// then the columns that read padding are zeroed; otherwise row by row.
func im2colRows(_ src: UnsafePointer<Float>, _ g: ConvGeometry, taps: [Int], _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let (s, p, ho, wo, h, w) = (g.stride, g.padding, g.ho, g.wo, g.h, g.w)
    let nt = taps.count, hw = ho * wo, plane = h * w, block = s == 1 && wo == w
    let runs = TapRun.runs(g, taps: taps)
    runs.withUnsafeBufferPointer { rp in
        for c in 0..<g.c {
            let x = src + c * plane
            for i in 0..<nt {
                let r = rp[i], row = dst + (c * nt + i) * ld
                if r.empty { row.update(repeating: 0, count: hw); continue }
                if r.ylo > 0 { row.update(repeating: 0, count: r.ylo * wo) }
                if r.yhi < ho { (row + r.yhi * wo).update(repeating: 0, count: (ho - r.yhi) * wo) }
                let n = r.hi - r.lo
                if block {
                    // dst[oy·Wo + q] = x[d + (oy − ylo)·W + q] for every (oy, q) of the block
                    let d = (r.ylo - p + r.ky) * w + r.kx - p, len = (r.yhi - r.ylo) * wo, out = row + r.ylo * wo
                    let j0 = Swift.max(0, -d), j1 = Swift.min(len, plane - d)
                    if j0 > 0 { out.update(repeating: 0, count: j0) }
                    (out + j0).update(from: x + (d + j0), count: j1 - j0)
                    if j1 < len { (out + j1).update(repeating: 0, count: len - j1) }
                    if n < wo {
                        for oy in 0..<(r.yhi - r.ylo) {
                            let o = out + oy * wo
                            for q in 0..<r.lo { o[q] = 0 }
                            for q in r.hi..<wo { o[q] = 0 }
                        }
                    }
                    continue
                }
                for oy in r.ylo..<r.yhi {
                    let o = row + oy * wo, xs = x + ((oy * s - p + r.ky) * w + r.kx - p + r.lo * s)
                    for q in 0..<r.lo { o[q] = 0 }
                    let oo = o + r.lo
                    if s == 1 { oo.update(from: xs, count: n) } else { for q in 0..<n { oo[q] = xs[q &* s] } }
                    for q in r.hi..<wo { o[q] = 0 }
                }
            }
        }
    }
}

/// Adds columns src[(c, i), q] (row stride `ld`) back into one image dx [C, H, W]. Within one
/// (channel, tap, output row) the input indices are distinct, so the adds never collide.
func col2imRows(_ src: UnsafePointer<Float>, _ g: ConvGeometry, taps: [Int], _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let (s, p, wo, h, w) = (g.stride, g.padding, g.wo, g.h, g.w)
    let nt = taps.count, plane = h * w
    let runs = TapRun.runs(g, taps: taps)
    runs.withUnsafeBufferPointer { rp in
        for c in 0..<g.c {
            let x = dst + c * plane
            for i in 0..<nt {
                let r = rp[i]
                if r.empty { continue }
                let row = src + (c * nt + i) * ld, n = r.hi - r.lo
                for oy in r.ylo..<r.yhi {
                    let inp = row + oy * wo + r.lo, xs = x + ((oy * s - p + r.ky) * w + r.kx - p + r.lo * s)
                    if s == 1 { for q in 0..<n { xs[q] += inp[q] } } else { for q in 0..<n { xs[q &* s] += inp[q] } }
                }
            }
        }
    }
}
