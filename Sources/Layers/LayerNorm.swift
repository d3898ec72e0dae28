import Tensors

/// Layer normalisation over the last dimension, PyTorch `nn.LayerNorm(dim, eps)` (formats.md 9.4):
/// y = (x − E[x])/√(Var[x] + eps)·γ + β with the biased variance. Default eps 1e-5 (BERT: 1e-12).
/// Shapes: x [..., D] -> same; weight [D], bias [D].
public final class LayerNorm: Module {
    public let dim: Int
    public let eps: Float
    public let weight: Parameter
    public let bias: Parameter
    private var cachedXHat: Tensor?
    private var cachedInvStd: [Float] = []

    public init(dim: Int, eps: Float = 1e-5) {
        self.dim = dim
        self.eps = eps
        weight = Parameter(Tensor(shape: [dim], repeating: 1))
        bias = Parameter(Tensor(zeros: [dim]))
    }

    public func namedParameters() -> [(String, Parameter)] { [("weight", weight), ("bias", bias)] }

    // x [M, D] -> y [M, D]
    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1 && x.shape.last == dim, "LayerNorm(\(dim)): input shape \(x.shape) must end in \(dim)")
        let rows = x.count / dim
        var xhat = Tensor(zeros: x.shape), y = Tensor(zeros: x.shape)
        var invStd = [Float](repeating: 0, count: rows)
        x.data.withUnsafeBufferPointer { px in xhat.data.withUnsafeMutableBufferPointer { ph in
        y.data.withUnsafeMutableBufferPointer { py in invStd.withUnsafeMutableBufferPointer { pi in
        weight.value.data.withUnsafeBufferPointer { pw in bias.value.data.withUnsafeBufferPointer { pb in
            let (xb, hb, yb, ib, wb, bb) = (px.baseAddress!, ph.baseAddress!, py.baseAddress!, pi.baseAddress!, pw.baseAddress!, pb.baseAddress!)
            parallelFor(rows, minChunk: 64) { r in
                for i in r {
                    let row = xb + i * dim
                    var s: Float = 0
                    for j in 0..<dim { s += row[j] }
                    let m = s / Float(dim)
                    var v: Float = 0
                    for j in 0..<dim { let d = row[j] - m; v += d * d }
                    let inv = 1 / (v / Float(dim) + eps).squareRoot()
                    ib[i] = inv
                    for j in 0..<dim {
                        let h = (row[j] - m) * inv
                        hb[i * dim + j] = h
                        yb[i * dim + j] = h * wb[j] + bb[j]
                    }
                }
            }
        } } } } } }
        cachedXHat = xhat
        cachedInvStd = invStd
        return y
    }

    // dx = invStd/D · (D·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)), dx̂ = dOut·γ; dγ += Σ_rows dOut·x̂; dβ += Σ_rows dOut
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let xhat = cachedXHat else { preconditionFailure("LayerNorm.backward called before forward") }
        precondition(dOut.shape == xhat.shape, "LayerNorm.backward: dOut \(dOut.shape), expected \(xhat.shape)")
        let rows = xhat.count / dim
        var dx = Tensor(zeros: xhat.shape)
        dOut.data.withUnsafeBufferPointer { pd in xhat.data.withUnsafeBufferPointer { ph in
        dx.data.withUnsafeMutableBufferPointer { px in weight.value.data.withUnsafeBufferPointer { pw in
            let (db, hb, xb, wb) = (pd.baseAddress!, ph.baseAddress!, px.baseAddress!, pw.baseAddress!)
            let inv = cachedInvStd
            parallelFor(rows, minChunk: 64) { r in
                for i in r {
                    var a: Float = 0, b: Float = 0
                    for j in 0..<dim { let g = db[i * dim + j] * wb[j]; a += g; b += g * hb[i * dim + j] }
                    let k = inv[i] / Float(dim)
                    for j in 0..<dim {
                        let g = db[i * dim + j] * wb[j]
                        xb[i * dim + j] = k * (Float(dim) * g - a - hb[i * dim + j] * b)
                    }
                }
            }
        } } } }
        if !weight.frozen || !bias.frozen {
            for i in 0..<rows {
                for j in 0..<dim {
                    let d = dOut.data[i * dim + j]
                    if !weight.frozen { weight.grad.data[j] += d * xhat.data[i * dim + j] }
                    if !bias.frozen { bias.grad.data[j] += d }
                }
            }
        }
        return dx
    }
}
