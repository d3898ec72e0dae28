import Tensors

/// Bilinear resize of NCHW Float tensors, matching PyTorch
/// `F.interpolate(x, size=(outH, outW), mode="bilinear", align_corners=False)` (antialias off),
/// for both up- and downscaling. Like PyTorch, downscaling just samples (no low-pass filter).
public enum BilinearResize {
    /// One axis of the interpolation: for each output coordinate the two source indices and
    /// their weights. Mirrors ATen `area_pixel_compute_source_index` with the scale computed in
    /// Float as `in/out`: src = max(0, (dst + 0.5)·scale − 0.5), i0 = ⌊src⌋,
    /// i1 = min(i0 + 1, in − 1), λ1 = src − i0, λ0 = 1 − λ1.
    public struct AxisTable: Sendable {
        public var i0: [Int], i1: [Int], w0: [Float], w1: [Float]

        public init(inSize: Int, outSize: Int) {
            precondition(inSize > 0 && outSize > 0)
            let scale = Float(inSize) / Float(outSize)
            i0 = []; i1 = []; w0 = []; w1 = []
            for d in 0..<outSize {
                var src = scale * (Float(d) + 0.5) - 0.5
                if src < 0 { src = 0 }
                let lo = Swift.min(Int(src), inSize - 1)
                let hi = lo + (lo < inSize - 1 ? 1 : 0)
                let l1 = src - Float(lo)
                i0.append(lo); i1.append(hi); w0.append(1 - l1); w1.append(l1)
            }
        }
    }

    /// [N,C,H,W] -> [N,C,outH,outW]. Planes are processed in parallel.
    public static func resize(_ x: Tensor, height outH: Int, width outW: Int) -> Tensor {
        precondition(x.rank == 4, "resize expects [N,C,H,W], got \(x.shape)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        if h == outH && w == outW { return x }
        let ty = AxisTable(inSize: h, outSize: outH), tx = AxisTable(inSize: w, outSize: outW)
        var out = [Float](repeating: 0, count: n * c * outH * outW)
        x.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                parallelFor(n * c, minChunk: Swift.max(1, 4096 / Swift.max(1, outH * outW))) { planes in
                    for p in planes {
                        let ip = s + p * h * w, op = d + p * outH * outW
                        for oy in 0..<outH {
                            let r0 = ip + ty.i0[oy] * w, r1 = ip + ty.i1[oy] * w
                            let (a0, a1) = (ty.w0[oy], ty.w1[oy])
                            let orow = op + oy * outW
                            for ox in 0..<outW {
                                let (x0, x1) = (tx.i0[ox], tx.i1[ox])
                                let (b0, b1) = (tx.w0[ox], tx.w1[ox])
                                orow[ox] = a0 * (b0 * r0[x0] + b1 * r0[x1]) + a1 * (b0 * r1[x0] + b1 * r1[x1])
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [n, c, outH, outW], data: out)
    }

    /// Plain reference loop (no tables, no threads, no pointers) kept beside the fast kernel.
    public static func referenceResize(_ x: Tensor, height outH: Int, width outW: Int) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var out = Tensor(zeros: [n, c, outH, outW])
        func source(_ d: Int, _ inSize: Int, _ outSize: Int) -> (Int, Int, Float) {
            let scale = Float(inSize) / Float(outSize)
            let src = Swift.max(0, scale * (Float(d) + 0.5) - 0.5)
            let lo = Swift.min(Int(src), inSize - 1)
            return (lo, Swift.min(lo + 1, inSize - 1), src - Float(lo))
        }
        for i in 0..<n {
            for ch in 0..<c {
                for oy in 0..<outH {
                    let (y0, y1, ly) = source(oy, h, outH)
                    for ox in 0..<outW {
                        let (x0, x1, lx) = source(ox, w, outW)
                        let v = (1 - ly) * ((1 - lx) * x[i, ch, y0, x0] + lx * x[i, ch, y0, x1])
                            + ly * ((1 - lx) * x[i, ch, y1, x0] + lx * x[i, ch, y1, x1])
                        out[i, ch, oy, ox] = v
                    }
                }
            }
        }
        return out
    }
}
