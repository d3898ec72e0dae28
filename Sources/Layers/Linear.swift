import Tensors

/// Fully connected layer, PyTorch `nn.Linear`: y = x Wᵀ + b.
/// Shapes: x [..., in] (any leading dims, flattened to M rows) -> y [..., out];
/// weight [out, in], bias [out].
public final class Linear: Module {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    /// When false, `backward` skips dInput and returns an empty tensor (shape [0]).
    public var computesInputGradient = true

    private var cachedInput: Tensor?

    /// PyTorch default init: kaiming_uniform(a=√5) => weight and bias ~ U(-1/√in, 1/√in).
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, rng: inout SeededGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Parameter(Tensor.uniform([outFeatures, inFeatures], low: -bound, high: bound, rng: &rng))
        self.bias = bias ? Parameter(Tensor.uniform([outFeatures], low: -bound, high: bound, rng: &rng)) : nil
    }

    /// A layer holding `weight` [out, in] and `bias` [out] as given (e.g. uninitialised storage
    /// that the caller's own init or a weight load overwrites: no random draw is spent on it).
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2 && (bias == nil || bias!.shape == [weight.shape[0]]),
                     "Linear(weight:bias:): weight \(weight.shape), bias \(bias?.shape ?? [])")
        inFeatures = weight.shape[1]
        outFeatures = weight.shape[0]
        self.weight = Parameter(weight)
        self.bias = bias.map { Parameter($0) }
    }

    public func namedParameters() -> [(String, Parameter)] {
        var p: [(String, Parameter)] = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }

    // x [M, in] -> y [M, out]
    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1 && x.shape.last == inFeatures,
                     "Linear(\(inFeatures)->\(outFeatures)): input shape \(x.shape) must end in \(inFeatures)")
        cachedInput = x
        let m = x.count / inFeatures
        var y = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outFeatures])   // fully written below
        x.data.withUnsafeBufferPointer { px in
            weight.value.data.withUnsafeBufferPointer { pw in
                y.data.withUnsafeMutableBufferPointer { py in
                    if let bias {
                        bias.value.data.withUnsafeBufferPointer { pb in
                            for r in 0..<m { (py.baseAddress! + r * outFeatures).update(from: pb.baseAddress!, count: outFeatures) }
                        }
                    }
                    sgemm(transB: true, m: m, n: outFeatures, k: inFeatures,
                          a: px.baseAddress!, b: pw.baseAddress!, beta: bias == nil ? 0 : 1, c: py.baseAddress!)
                }
            }
        }
        return y
    }

    // dOut [M, out] -> dx [M, in]; dW += dOutᵀ x; db += Σ_rows dOut
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let x = cachedInput else { preconditionFailure("Linear.backward called before forward") }
        accumulateParameterGradients(dOut, input: x)
        guard computesInputGradient else { return Tensor(zeros: [0]) }
        var dx = Tensor(uninitializedShape: x.shape)
        inputGradient(dOut, into: &dx, beta: 0)
        return dx
    }

    /// As `backward`, but adds dx into `sum` (shape of the input) instead of returning it: the
    /// sum of several branches' input gradients without temporaries (GEMM with beta = 1).
    public func backward(_ dOut: Tensor, addingInputGradientTo sum: inout Tensor) {
        guard let x = cachedInput else { preconditionFailure("Linear.backward called before forward") }
        precondition(sum.shape == x.shape, "Linear.backward: gradient sum \(sum.shape), input \(x.shape)")
        accumulateParameterGradients(dOut, input: x)
        inputGradient(dOut, into: &sum, beta: 1)
    }

    // dW += dOutᵀ x [out, in]; db += Σ_rows dOut
    private func accumulateParameterGradients(_ dOut: Tensor, input x: Tensor) {
        precondition(dOut.count == x.count / inFeatures * outFeatures, "Linear.backward: dOut \(dOut.shape) vs input \(x.shape)")
        let m = x.count / inFeatures
        dOut.data.withUnsafeBufferPointer { pd in
            if !weight.frozen {
                x.data.withUnsafeBufferPointer { px in
                    weight.grad.data.withUnsafeMutableBufferPointer { pg in
                        sgemm(transA: true, m: outFeatures, n: inFeatures, k: m,
                              a: pd.baseAddress!, b: px.baseAddress!, beta: 1, c: pg.baseAddress!)
                    }
                }
            }
            if let bias, !bias.frozen {
                bias.grad.data.withUnsafeMutableBufferPointer { pg in
                    for r in 0..<m {
                        let row = pd.baseAddress! + r * outFeatures
                        for j in 0..<outFeatures { pg[j] += row[j] }
                    }
                }
            }
        }
    }

    // dx = beta·dx + dOut W [M, in]
    private func inputGradient(_ dOut: Tensor, into dx: inout Tensor, beta: Float) {
        let m = dOut.count / outFeatures
        dOut.data.withUnsafeBufferPointer { pd in
            weight.value.data.withUnsafeBufferPointer { pw in
                dx.data.withUnsafeMutableBufferPointer { pdx in
                    sgemm(m: m, n: inFeatures, k: outFeatures, a: pd.baseAddress!, b: pw.baseAddress!, beta: beta, c: pdx.baseAddress!)
                }
            }
        }
    }
}
