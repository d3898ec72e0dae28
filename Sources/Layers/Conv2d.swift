import Tensors

/// Weight initialisation of `Conv2d`.
public enum ConvInit: Sendable {
    /// PyTorch's default: kaiming_uniform(a=√5) => U(-1/√fanIn, 1/√fanIn) for weight and bias.
    case pytorchDefault
    /// torchvision ResNet: kaiming_normal(mode="fan_out", nonlinearity="relu") => N(0, 2/(out·k·k)); bias 0.
    case kaimingNormalFanOutReLU
}

/// 2-D convolution, PyTorch `nn.Conv2d` with a square kernel, symmetric zero padding, no groups.
/// Shapes: x [N, C, H, W] -> y [N, O, Ho, Wo], Ho = (H + 2p - k)/s + 1;
/// weight [O, C, k, k], bias [O]. Kernels: ConvKernels.swift (fast) and ConvReference.swift.
public final class Conv2d: Module {
    public let inChannels, outChannels, kernelSize, stride, padding: Int
    public let weight: Parameter
    public let bias: Parameter?
    /// When false, `backward` skips dInput (e.g. the stem conv on images) and returns shape [0].
    public var computesInputGradient = true

    private var cachedInput: Tensor?
    /// Weights with an eval-mode BatchNorm folded in (ConvBatchNormFold.swift), rebuilt when
    /// any of the values they come from changes.
    var folded: FoldedConvBatchNorm?

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, initialization: ConvInit = .pytorchDefault, rng: inout SeededGenerator) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        let shape = [outChannels, inChannels, kernelSize, kernelSize]
        let fanIn = inChannels * kernelSize * kernelSize
        let bound = 1 / Float(fanIn).squareRoot()
        switch initialization {
        case .pytorchDefault:
            weight = Parameter(Tensor.uniform(shape, low: -bound, high: bound, rng: &rng))
            self.bias = bias ? Parameter(Tensor.uniform([outChannels], low: -bound, high: bound, rng: &rng)) : nil
        case .kaimingNormalFanOutReLU:
            let std = (2 / Float(outChannels * kernelSize * kernelSize)).squareRoot()
            weight = Parameter(Tensor.normal(shape, std: std, rng: &rng))
            self.bias = bias ? Parameter(Tensor(zeros: [outChannels])) : nil
        }
    }

    public func namedParameters() -> [(String, Parameter)] {
        var p: [(String, Parameter)] = [("weight", weight)]
        if let bias { p.append(("bias", bias)) }
        return p
    }

    // x [N, C, H, W] -> y [N, O, Ho, Wo]
    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels,
                     "Conv2d(\(inChannels)->\(outChannels)): input shape \(x.shape), expected [N, \(inChannels), H, W]")
        cachedInput = x
        return conv2dForward(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    }

    /// `forward(_:)` in `mode`: eval mode runs the inference kernels (`conv2dInferenceForward`:
    /// Winograd F(4x4, 3x3) where it applies), train mode the same kernels as `forward(_:)`.
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        guard mode == .eval else { return forward(x) }
        precondition(x.rank == 4 && x.shape[1] == inChannels,
                     "Conv2d(\(inChannels)->\(outChannels)): input shape \(x.shape), expected [N, \(inChannels), H, W]")
        cachedInput = x
        return conv2dInferenceForward(x, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    }

    // dOut [N, O, Ho, Wo] -> dx [N, C, H, W]; dW += Σ dOut ⋆ x; db += Σ dOut
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let x = cachedInput else { preconditionFailure("Conv2d.backward called before forward") }
        if !weight.frozen {
            conv2dBackwardWeight(dOut, input: x, kernelSize: kernelSize, stride: stride, padding: padding, into: &weight.grad)
        }
        if let bias, !bias.frozen { conv2dBackwardBias(dOut, into: &bias.grad) }
        guard computesInputGradient else { return Tensor(zeros: [0]) }
        return conv2dBackwardData(dOut, weight: weight.value, inputShape: x.shape, stride: stride, padding: padding)
    }

    /// Drops the cached input (frees memory after inference-only forwards).
    public func clearCache() { cachedInput = nil }
}
