import Tensors

/// Geometry of a square-kernel 2-D convolution on NCHW input.
public struct ConvGeometry: Equatable, Sendable {
    public let n, c, h, w: Int      // input [N, C, H, W]
    public let o, k, stride, padding: Int
    public var ho: Int { (h + 2 * padding - k) / stride + 1 }
    public var wo: Int { (w + 2 * padding - k) / stride + 1 }
    /// Rows of the im2col matrix: C·k·k.
    public var ckk: Int { c * k * k }

    public init(n: Int, c: Int, h: Int, w: Int, o: Int, k: Int, stride: Int, padding: Int) {
        precondition(k >= 1 && stride >= 1 && padding >= 0 && h + 2 * padding >= k && w + 2 * padding >= k,
                     "bad conv geometry: input \(h)x\(w), kernel \(k), stride \(stride), padding \(padding)")
        self.n = n; self.c = c; self.h = h; self.w = w
        self.o = o; self.k = k; self.stride = stride; self.padding = padding
    }

    public var outputShape: [Int] { [n, o, ho, wo] }
    /// Multiply-add count ×2 of one pass (forward, backward-data and backward-weight are equal).
    public var flops: Double { 2 * Double(n * ho * wo) * Double(o) * Double(ckk) }
}

// Plain direct convolutions (Double accumulation): the references the fast im2col + sgemm
// kernels in Conv2d.swift are tested against.

/// y[n,o,oy,ox] = b[o] + Σ_{c,ky,kx} W[o,c,ky,kx] · x[n,c,oy·s-p+ky,ox·s-p+kx] (zero padding).
public func referenceConv2dForward(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int) -> Tensor {
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                         o: weight.shape[0], k: weight.shape[2], stride: stride, padding: padding)
    var y = Tensor(zeros: g.outputShape)
    for n in 0..<g.n { for o in 0..<g.o { for oy in 0..<g.ho { for ox in 0..<g.wo {
        var acc = Double(bias?.data[o] ?? 0)
        for c in 0..<g.c { for ky in 0..<g.k { for kx in 0..<g.k {
            let iy = oy * stride - padding + ky, ix = ox * stride - padding + kx
            if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w { continue }
            acc += Double(weight.data[((o * g.c + c) * g.k + ky) * g.k + kx]) * Double(x.data[((n * g.c + c) * g.h + iy) * g.w + ix])
        } } }
        y.data[((n * g.o + o) * g.ho + oy) * g.wo + ox] = Float(acc)
    } } } }
    return y
}

/// dx[n,c,iy,ix] = Σ over outputs touching (iy,ix) of W[o,c,ky,kx] · dy[n,o,oy,ox].
public func referenceConv2dBackwardData(_ dOut: Tensor, weight: Tensor, inputShape: [Int], stride: Int, padding: Int) -> Tensor {
    let g = ConvGeometry(n: inputShape[0], c: inputShape[1], h: inputShape[2], w: inputShape[3],
                         o: weight.shape[0], k: weight.shape[2], stride: stride, padding: padding)
    var dx = [Double](repeating: 0, count: Tensor.elementCount(inputShape))
    for n in 0..<g.n { for o in 0..<g.o { for oy in 0..<g.ho { for ox in 0..<g.wo {
        let d = Double(dOut.data[((n * g.o + o) * g.ho + oy) * g.wo + ox])
        for c in 0..<g.c { for ky in 0..<g.k { for kx in 0..<g.k {
            let iy = oy * stride - padding + ky, ix = ox * stride - padding + kx
            if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w { continue }
            dx[((n * g.c + c) * g.h + iy) * g.w + ix] += Double(weight.data[((o * g.c + c) * g.k + ky) * g.k + kx]) * d
        } } }
    } } } }
    return Tensor(shape: inputShape, data: dx.map { Float($0) })
}

/// dW[o,c,ky,kx] = Σ_{n,oy,ox} dy[n,o,oy,ox] · x[n,c,oy·s-p+ky,ox·s-p+kx]; also db[o] = Σ dy.
public func referenceConv2dBackwardWeight(_ dOut: Tensor, input x: Tensor, kernelSize k: Int, stride: Int, padding: Int) -> (dWeight: Tensor, dBias: Tensor) {
    let g = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                         o: dOut.shape[1], k: k, stride: stride, padding: padding)
    var dw = [Double](repeating: 0, count: g.o * g.ckk)
    var db = [Double](repeating: 0, count: g.o)
    for n in 0..<g.n { for o in 0..<g.o { for oy in 0..<g.ho { for ox in 0..<g.wo {
        let d = Double(dOut.data[((n * g.o + o) * g.ho + oy) * g.wo + ox])
        db[o] += d
        for c in 0..<g.c { for ky in 0..<g.k { for kx in 0..<g.k {
            let iy = oy * stride - padding + ky, ix = ox * stride - padding + kx
            if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w { continue }
            dw[((o * g.c + c) * g.k + ky) * g.k + kx] += d * Double(x.data[((n * g.c + c) * g.h + iy) * g.w + ix])
        } } }
    } } } }
    return (Tensor(shape: [g.o, g.c, k, k], data: dw.map { Float($0) }), Tensor(shape: [g.o], data: db.map { Float($0) }))
}
