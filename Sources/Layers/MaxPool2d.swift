import Tensors

/// Max pooling, PyTorch `nn.MaxPool2d(kernel_size, stride, padding)` (padding counts as −∞,
/// floor mode, no dilation). Shapes: x [N, C, H, W] -> y [N, C, Ho, Wo], Ho = (H + 2p − k)/s + 1.
public final class MaxPool2d {
    public let kernelSize, stride, padding: Int
    private var cachedArgmax: [Int32] = []   // flat index within the input plane of each output
    private var cachedInputShape: [Int] = []

    public init(kernelSize: Int = 3, stride: Int = 2, padding: Int = 1) {
        precondition(padding * 2 <= kernelSize, "MaxPool2d: padding \(padding) must be at most half the kernel \(kernelSize)")
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
    }

    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "MaxPool2d: input shape \(x.shape), expected [N, C, H, W]")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = (h + 2 * padding - kernelSize) / stride + 1, wo = (w + 2 * padding - kernelSize) / stride + 1
        var y = Tensor(uninitializedShape: [n, c, ho, wo])   // every element written below
        var arg = [Int32](repeating: 0, count: y.count)
        let (k, s, p) = (kernelSize, stride, padding)
        x.data.withUnsafeBufferPointer { px in y.data.withUnsafeMutableBufferPointer { py in arg.withUnsafeMutableBufferPointer { pa in
            let xb = px.baseAddress!, yb = py.baseAddress!, ab = pa.baseAddress!
            // Windows clipped to the input once per output row; the outputs whose window is whole
            // horizontally go tap by tap across the row with selects (the same scan order per
            // output: the first maximum wins; a NaN wins and propagates).
            let lo = Swift.min(wo, (p + s - 1) / s), hi = Swift.max(lo, Swift.min(wo, w + p - k >= 0 ? (w + p - k) / s + 1 : 0))
            parallelFor(n * c, minChunk: 8) { r in
                for plane in r {
                    let src = xb + plane * h * w
                    for oy in 0..<ho {
                        let y0 = Swift.max(0, oy * s - p), y1 = Swift.min(h, oy * s - p + k)
                        let yr = yb + (plane * ho + oy) * wo, ar = ab + (plane * ho + oy) * wo
                        for j in 0..<(lo + wo - hi) {
                            let ox = j < lo ? j : hi + (j - lo)
                            let x0 = Swift.max(0, ox * s - p), x1 = Swift.min(w, ox * s - p + k)
                            var bi = y0 * w + x0, best = src[bi]
                            for iy in y0..<y1 {
                                for ix in x0..<x1 {
                                    let v = src[iy * w + ix]
                                    if v > best || v.isNaN { best = v; bi = iy * w + ix }
                                }
                            }
                            yr[ox] = best; ar[ox] = Int32(bi)
                        }
                        if lo >= hi { continue }
                        for ox in lo..<hi { let i = y0 * w + ox * s - p; yr[ox] = src[i]; ar[ox] = Int32(i) }
                        for iy in y0..<y1 {
                            for kx in 0..<k where iy > y0 || kx > 0 {
                                let off = iy * w + kx - p
                                for ox in lo..<hi {
                                    let i = off &+ ox &* s, v = src[i], b = yr[ox]
                                    // v > b or v is NaN, without a branch (b NaN: v > b is false)
                                    let take = (v > b ? 1 : 0) | (v != v ? 1 : 0)
                                    yr[ox] = take != 0 ? v : b
                                    ar[ox] = take != 0 ? Int32(truncatingIfNeeded: i) : ar[ox]
                                }
                            }
                        }
                    }
                }
            }
        } } }
        cachedArgmax = arg
        cachedInputShape = x.shape
        return y
    }

    /// dx[argmax] += dOut for each output position.
    public func backward(_ dOut: Tensor) -> Tensor {
        precondition(!cachedInputShape.isEmpty, "MaxPool2d.backward called before forward")
        precondition(dOut.count == cachedArgmax.count, "MaxPool2d.backward: dOut \(dOut.shape) does not match the forward output")
        var dx = Tensor(zeros: cachedInputShape)
        let hw = cachedInputShape[2] * cachedInputShape[3]
        let ohw = dOut.shape[2] * dOut.shape[3]
        // planes are independent: split them over threads
        dOut.data.withUnsafeBufferPointer { pd in cachedArgmax.withUnsafeBufferPointer { pa in dx.data.withUnsafeMutableBufferPointer { px in
            let db = pd.baseAddress!, ab = pa.baseAddress!, xb = px.baseAddress!
            parallelFor(cachedInputShape[0] * cachedInputShape[1], minChunk: 8) { r in
                for plane in r {
                    for t in 0..<ohw { let o = plane * ohw + t; xb[plane * hw + Int(ab[o])] += db[o] }
                }
            }
        } } }
        return dx
    }
}

/// Plain max pooling loop (bounds tested per tap): the reference `MaxPool2d.forward` is tested
/// against. x [N, C, H, W] -> (y [N, C, Ho, Wo], argmax flat index within the input plane).
public func referenceMaxPool2d(_ x: Tensor, kernelSize k: Int, stride s: Int, padding p: Int) -> (y: Tensor, argmax: [Int32]) {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1
    var y = Tensor(zeros: [n, c, ho, wo]), arg = [Int32](repeating: 0, count: n * c * ho * wo)
    for plane in 0..<(n * c) { for oy in 0..<ho { for ox in 0..<wo {
        var best = -Float.infinity, bi = -1
        for ky in 0..<k { for kx in 0..<k {
            let iy = oy * s - p + ky, ix = ox * s - p + kx
            if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
            let v = x.data[plane * h * w + iy * w + ix]
            if v > best || bi < 0 || v.isNaN { best = v; bi = iy * w + ix }
        } }
        let o = (plane * ho + oy) * wo + ox
        y.data[o] = best; arg[o] = Int32(bi)
    } } }
    return (y, arg)
}

/// Adaptive average pooling to 1×1, PyTorch `nn.AdaptiveAvgPool2d((1, 1))`.
/// Shapes: x [N, C, H, W] -> y [N, C, 1, 1].
public final class AdaptiveAvgPool2d {
    private var cachedInputShape: [Int] = []
    public init() {}

    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "AdaptiveAvgPool2d: input shape \(x.shape), expected [N, C, H, W]")
        let (n, c) = (x.shape[0], x.shape[1]), hw = x.shape[2] * x.shape[3]
        var y = Tensor(zeros: [n, c, 1, 1])
        for i in 0..<(n * c) {
            var s: Float = 0
            for t in 0..<hw { s += x.data[i * hw + t] }
            y.data[i] = s / Float(hw)
        }
        cachedInputShape = x.shape
        return y
    }

    /// dx[n,c,:,:] = dOut[n,c] / (H·W).
    public func backward(_ dOut: Tensor) -> Tensor {
        precondition(!cachedInputShape.isEmpty, "AdaptiveAvgPool2d.backward called before forward")
        let hw = cachedInputShape[2] * cachedInputShape[3]
        precondition(dOut.count * hw == Tensor.elementCount(cachedInputShape), "AdaptiveAvgPool2d.backward: dOut \(dOut.shape)")
        var dx = Tensor(zeros: cachedInputShape)
        for i in 0..<dOut.count {
            let g = dOut.data[i] / Float(hw)
            for t in 0..<hw { dx.data[i * hw + t] = g }
        }
        return dx
    }
}

/// PyTorch `nn.Flatten()`: [N, d1, d2, ...] -> [N, d1·d2·…]; backward restores the shape.
public final class Flatten {
    private var cachedInputShape: [Int] = []
    public init() {}

    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1, "Flatten: input must have a batch dimension")
        cachedInputShape = x.shape
        return x.reshaped([x.shape[0], x.count / Swift.max(1, x.shape[0])])
    }

    public func backward(_ dOut: Tensor) -> Tensor { dOut.reshaped(cachedInputShape) }
}

/// Elementwise sum of two same-shaped tensors (residual connection). Its backward is the identity
/// for both inputs: pass `dOut` to each branch.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "add: shapes \(a.shape) and \(b.shape) differ")
    var y = a
    b.data.withUnsafeBufferPointer { pb in y.data.withUnsafeMutableBufferPointer { py in
        let bb = pb.baseAddress!, yb = py.baseAddress!
        parallelFor(py.count, minChunk: 65536) { r in for i in r { yb[i] += bb[i] } }
    } }
    return y
}

/// Residual add as a layer: forward(a, b) = a + b; backward(dOut) = (dOut, dOut).
public struct Add {
    public init() {}
    public func forward(_ a: Tensor, _ b: Tensor) -> Tensor { add(a, b) }
    public func backward(_ dOut: Tensor) -> (Tensor, Tensor) { (dOut, dOut) }
}
