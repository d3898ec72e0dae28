import Tensors

/// Layer normalisation over the last dimension, PyTorch `nn.LayerNorm(dim, eps)` (formats.md 9.4):
/// y = (x − E[x])/√(Var[x] + eps)·γ + β with the biased variance. Default eps 1e-5 (BERT: 1e-12).
/// Shapes: x [..., D] -> same; weight [D], bias [D].
/// Kernels: `LayerNormKernels` (vectorised rows, optional fused residual add); plain reference
/// `LayerNormKernels.reference*`, held equal in LayersTests/LayerNormKernelTests.
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
    public func forward(_ x: Tensor) -> Tensor { forward(x, residual: nil) }

    /// y = LayerNorm(x + residual) (residual of x's shape, or nil), without materialising the sum.
    public func forward(_ x: Tensor, residual: Tensor?) -> Tensor {
        precondition(x.rank >= 1 && x.shape.last == dim, "LayerNorm(\(dim)): input shape \(x.shape) must end in \(dim)")
        if let residual { precondition(residual.shape == x.shape, "LayerNorm: residual \(residual.shape), input \(x.shape)") }
        let rows = x.count / dim
        var xhat = Tensor(uninitializedShape: x.shape), y = Tensor(uninitializedShape: x.shape)
        var invStd = [Float](repeating: 0, count: rows)
        x.data.withUnsafeBufferPointer { px in xhat.data.withUnsafeMutableBufferPointer { ph in
        y.data.withUnsafeMutableBufferPointer { py in invStd.withUnsafeMutableBufferPointer { pi in
        weight.value.data.withUnsafeBufferPointer { pw in bias.value.data.withUnsafeBufferPointer { pb in
        withOptionalPointer(residual?.data) { pr in
            LayerNormKernels.forward(x: px.baseAddress!, residual: pr, rows: rows, dim: dim, eps: eps,
                                     gamma: pw.baseAddress!, beta: pb.baseAddress!,
                                     xhat: ph.baseAddress!, invStd: pi.baseAddress!, y: py.baseAddress!)
        } } } } } } }
        cachedXHat = xhat
        cachedInvStd = invStd
        return y
    }

    // dx = invStd/D · (D·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)), dx̂ = dOut·γ; dγ += Σ_rows dOut·x̂; dβ += Σ_rows dOut
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let xhat = cachedXHat else { preconditionFailure("LayerNorm.backward called before forward") }
        precondition(dOut.shape == xhat.shape, "LayerNorm.backward: dOut \(dOut.shape), expected \(xhat.shape)")
        let rows = xhat.count / dim
        var dx = Tensor(uninitializedShape: xhat.shape)
        let wantGamma = !weight.frozen, wantBeta = !bias.frozen
        dOut.data.withUnsafeBufferPointer { pd in xhat.data.withUnsafeBufferPointer { ph in
        dx.data.withUnsafeMutableBufferPointer { px in weight.value.data.withUnsafeBufferPointer { pw in
        cachedInvStd.withUnsafeBufferPointer { pi in
        weight.grad.data.withUnsafeMutableBufferPointer { pgw in bias.grad.data.withUnsafeMutableBufferPointer { pgb in
            LayerNormKernels.backward(dOut: pd.baseAddress!, xhat: ph.baseAddress!, invStd: pi.baseAddress!,
                                      gamma: pw.baseAddress!, rows: rows, dim: dim, dx: px.baseAddress!,
                                      dGamma: wantGamma ? pgw.baseAddress! : nil, dBeta: wantBeta ? pgb.baseAddress! : nil)
        } } } } } } }
        return dx
    }
}
