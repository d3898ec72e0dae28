import Layers
import Tensors

// torchvision BasicBlock and Bottleneck (v1.5): one conv -> BatchNorm chain (ConvChainBlock) each.
// Module names are torchvision's: conv1, bn1, conv2, bn2, (conv3, bn3), downsample.0/1.

/// A residual block: x [N, Cin, H, W] -> y [N, Cout, H/s, W/s].
public protocol ResidualBlock: Module {
    func forward(_ x: Tensor, mode: Mode) -> Tensor
    /// dOut [N, Cout, H', W'] -> dx [N, Cin, H, W]; adds parameter gradients.
    func backward(_ dOut: Tensor) -> Tensor
    /// Drops the inputs cached by the last forward.
    func clearCaches()
}

/// The 1x1 conv + BatchNorm shortcut of the first block of a stage (`downsample.0`, `downsample.1`).
public final class Downsample: Module {
    public let conv: Conv2d
    public let bn: BatchNorm

    public init(inChannels: Int, outChannels: Int, stride: Int, rng: inout SeededGenerator) {
        conv = Conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: 1, stride: stride, padding: 0,
                      bias: false, initialization: .kaimingNormalFanOutReLU, rng: &rng)
        bn = BatchNorm(numFeatures: outChannels)
    }

    public func namedParameters() -> [(String, Parameter)] { scoped("0", conv.namedParameters()) + scoped("1", bn.namedParameters()) }
    public func namedBuffers() -> [(String, Buffer)] { scoped("1", bn.namedBuffers()) }

    // x [N, Cin, H, W] -> [N, Cout, H/s, W/s]
    public func forward(_ x: Tensor, mode: Mode) -> Tensor { bn.forward(conv.forward(x), mode: mode) }
    public func backward(_ dOut: Tensor) -> Tensor { conv.backward(bn.backward(dOut)) }
}

/// A torchvision residual block as data: a chain of conv -> BatchNorm steps (`conv1`/`bn1`,
/// `conv2`/`bn2`, ...) with a ReLU after each but the last, whose BatchNorm also adds the shortcut
/// (identity or `downsample`) and applies the block's final ReLU. BasicBlock and Bottleneck
/// differ only in their steps.
public class ConvChainBlock: ResidualBlock {
    public let convs: [Conv2d]
    public let norms: [BatchNorm]
    public let downsample: Downsample?

    /// `steps`: (in channels, out channels, kernel, stride) of conv1, conv2, ... (padding kernel/2).
    init(steps: [(cin: Int, cout: Int, kernel: Int, stride: Int)], downsample: (cin: Int, cout: Int, stride: Int)?,
         rng: inout SeededGenerator) {
        var convs: [Conv2d] = []
        for s in steps {
            convs.append(Conv2d(inChannels: s.cin, outChannels: s.cout, kernelSize: s.kernel, stride: s.stride, padding: s.kernel / 2,
                                bias: false, initialization: .kaimingNormalFanOutReLU, rng: &rng))
        }
        self.convs = convs
        norms = steps.map { BatchNorm(numFeatures: $0.cout) }
        self.downsample = downsample.map { Downsample(inChannels: $0.cin, outChannels: $0.cout, stride: $0.stride, rng: &rng) }
    }

    public func namedParameters() -> [(String, Parameter)] {
        convs.indices.flatMap { k in scoped("conv\(k + 1)", convs[k].namedParameters()) + scoped("bn\(k + 1)", norms[k].namedParameters()) }
            + scoped("downsample", downsample?.namedParameters() ?? [])
    }

    public func namedBuffers() -> [(String, Buffer)] {
        norms.indices.flatMap { k in scoped("bn\(k + 1)", norms[k].namedBuffers()) } + scoped("downsample", downsample?.namedBuffers() ?? [])
    }

    /// Input of the last eval forward that ran with BatchNorm folded (no caches kept): a backward
    /// after it first reruns the layers in turn to rebuild their caches.
    /// (Channels-last [N, H, W, C] when `foldedChannelsLast`: ResNetChannelsLast.swift.)
    var foldedInput: Tensor?
    var foldedChannelsLast = false

    // x [N, C, H, W] -> [N, Cout, H/s, W/s]
    // Eval (ConvTuning.foldBatchNorm): each BatchNorm folded into its convolution, bias, shortcut
    // and ReLU in the convolution's epilogue (ConvBatchNormFold.swift). Otherwise BatchNorm,
    // residual add and ReLU run fused (BatchNorm.forward(_:mode:residual:relu:)), the reference.
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        if mode == .eval && ConvTuning.foldBatchNorm {
            foldedInput = x
            foldedChannelsLast = false
            return forwardFolded(x)
        }
        foldedInput = nil
        return forwardLayers(x, mode: mode)
    }

    private func forwardFolded(_ x: Tensor) -> Tensor {
        let last = convs.count - 1
        var out = x
        for k in 0..<last { out = convs[k].forwardFoldingBatchNorm(out, bn: norms[k], residual: nil, relu: true) }
        let identity = downsample.map { $0.conv.forwardFoldingBatchNorm(x, bn: $0.bn, residual: nil, relu: false) } ?? x
        return convs[last].forwardFoldingBatchNorm(out, bn: norms[last], residual: identity, relu: true)
    }

    private func forwardLayers(_ x: Tensor, mode: Mode) -> Tensor {
        let last = convs.count - 1
        var out = x
        for k in 0..<last { out = norms[k].forward(convs[k].forward(out, mode: mode), mode: mode, residual: nil, relu: true) }
        let identity = downsample?.forward(x, mode: mode) ?? x
        return norms[last].forward(convs[last].forward(out, mode: mode), mode: mode, residual: identity, relu: true)
    }

    public func backward(_ dOut: Tensor) -> Tensor {
        if let x = foldedInput {
            _ = forwardLayers(foldedChannelsLast ? channelsFirst(x) : x, mode: .eval)
            foldedInput = nil
        }
        let last = convs.count - 1
        let (dLast, dRes) = norms[last].backwardFused(dOut)
        let d = dRes!
        var g = convs[last].backward(dLast)
        for k in (0..<last).reversed() { g = convs[k].backward(norms[k].backward(g)) }
        addInPlace(&g, downsample?.backward(d) ?? d)
        return g
    }

    public func clearCaches() {
        foldedInput = nil
        for c in convs { c.clearCache() }
        downsample?.conv.clearCache()
    }
}

/// torchvision `BasicBlock` (expansion 1): conv3x3(s) -> bn1 -> relu -> conv3x3 -> bn2, + shortcut, relu.
public final class BasicBlock: ConvChainBlock {
    public init(inChannels: Int, planes: Int, stride: Int, downsample: Bool, rng: inout SeededGenerator) {
        super.init(steps: [(inChannels, planes, 3, stride), (planes, planes, 3, 1)],
                   downsample: downsample ? (inChannels, planes, stride) : nil, rng: &rng)
    }
}

/// torchvision `Bottleneck` v1.5 (expansion 4): conv1x1 -> bn1 -> relu -> conv3x3(s) -> bn2 -> relu ->
/// conv1x1 (4P) -> bn3, + shortcut, relu.
public final class Bottleneck: ConvChainBlock {
    public init(inChannels: Int, planes: Int, stride: Int, downsample: Bool, rng: inout SeededGenerator) {
        super.init(steps: [(inChannels, planes, 1, 1), (planes, planes, 3, stride), (planes, planes * 4, 1, 1)],
                   downsample: downsample ? (inChannels, planes * 4, stride) : nil, rng: &rng)
    }
}
