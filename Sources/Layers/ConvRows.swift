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

/// One image x [C, H, W] -> columns dst[(c, i), q] (i over `taps`, q = oy·Wo + ox, row stride `ld`).
func im2colRows(_ src: UnsafePointer<Float>, _ g: ConvGeometry, taps: [Int], _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let (k, s, p, ho, wo, h, w) = (g.k, g.stride, g.padding, g.ho, g.wo, g.h, g.w)
    let nt = taps.count
    for c in 0..<g.c {
        let x = src + c * h * w
        for (i, tap) in taps.enumerated() {
            let ky = tap / k, kx = tap % k
            let (lo, hi) = validOutputRange(tap: kx, size: w, outSize: wo, stride: s, padding: p)
            let row = dst + (c * nt + i) * ld
            for oy in 0..<ho {
                let iy = oy * s - p + ky, out = row + oy * wo
                if iy < 0 || iy >= h || lo >= hi { for q in 0..<wo { out[q] = 0 }; continue }
                for q in 0..<lo { out[q] = 0 }
                let base = iy * w + kx - p        // x[base + ox·s] is the input of output column ox
                if s == 1 { for q in lo..<hi { out[q] = x[base + q] } } else { for q in lo..<hi { out[q] = x[base + q * s] } }
                for q in hi..<wo { out[q] = 0 }
            }
        }
    }
}

/// Adds columns src[(c, i), q] (row stride `ld`) back into one image dx [C, H, W]. Within one
/// (channel, tap, output row) the input indices are distinct, so the adds never collide.
func col2imRows(_ src: UnsafePointer<Float>, _ g: ConvGeometry, taps: [Int], _ dst: UnsafeMutablePointer<Float>, ld: Int) {
    let (k, s, p, ho, wo, h, w) = (g.k, g.stride, g.padding, g.ho, g.wo, g.h, g.w)
    let nt = taps.count
    for c in 0..<g.c {
        let x = dst + c * h * w
        for (i, tap) in taps.enumerated() {
            let ky = tap / k, kx = tap % k
            let (lo, hi) = validOutputRange(tap: kx, size: w, outSize: wo, stride: s, padding: p)
            if lo >= hi { continue }
            let row = src + (c * nt + i) * ld
            for oy in 0..<ho {
                let iy = oy * s - p + ky
                if iy < 0 || iy >= h { continue }
                let inp = row + oy * wo, base = iy * w + kx - p
                if s == 1 { for q in lo..<hi { x[base + q] += inp[q] } } else { for q in lo..<hi { x[base + q * s] += inp[q] } }
            }
        }
    }
}
