import Layers
import Tensors

// torchvision BasicBlock and Bottleneck (v1.5), one forward and one backward each.
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

/// torchvision `BasicBlock` (expansion 1): conv3x3(s) -> bn1 -> relu -> conv3x3 -> bn2, + shortcut, relu.
public final class BasicBlock: ResidualBlock {
    public let conv1: Conv2d
    public let bn1: BatchNorm
    public let conv2: Conv2d
    public let bn2: BatchNorm
    public let downsample: Downsample?

    public init(inChannels: Int, planes: Int, stride: Int, downsample: Bool, rng: inout SeededGenerator) {
        conv1 = Conv2d(inChannels: inChannels, outChannels: planes, kernelSize: 3, stride: stride, padding: 1,
                       bias: false, initialization: .kaimingNormalFanOutReLU, rng: &rng)
        bn1 = BatchNorm(numFeatures: planes)
        conv2 = Conv2d(inChannels: planes, outChannels: planes, kernelSize: 3, stride: 1, padding: 1,
                       bias: false, initialization: .kaimingNormalFanOutReLU, rng: &rng)
        bn2 = BatchNorm(numFeatures: planes)
        self.downsample = downsample ? Downsample(inChannels: inChannels, outChannels: planes, stride: stride, rng: &rng) : nil
    }

    public func namedParameters() -> [(String, Parameter)] {
        scoped("conv1", conv1.namedParameters()) + scoped("bn1", bn1.namedParameters())
            + scoped("conv2", conv2.namedParameters()) + scoped("bn2", bn2.namedParameters())
            + scoped("downsample", downsample?.namedParameters() ?? [])
    }

    public func namedBuffers() -> [(String, Buffer)] {
        scoped("bn1", bn1.namedBuffers()) + scoped("bn2", bn2.namedBuffers()) + scoped("downsample", downsample?.namedBuffers() ?? [])
    }

    // x [N, C, H, W] -> [N, P, H/s, W/s]
    // BatchNorm, residual add and ReLU run fused (BatchNorm.forward(_:mode:residual:relu:)).
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        let out = bn1.forward(conv1.forward(x), mode: mode, residual: nil, relu: true)
        let identity = downsample?.forward(x, mode: mode) ?? x
        return bn2.forward(conv2.forward(out), mode: mode, residual: identity, relu: true)
    }

    public func backward(_ dOut: Tensor) -> Tensor {
        let (d2, dRes) = bn2.backwardFused(dOut)
        let d = dRes!
        var dMain = conv1.backward(bn1.backward(conv2.backward(d2)))
        addInPlace(&dMain, downsample?.backward(d) ?? d)
        return dMain
    }

    public func clearCaches() {
        conv1.clearCache(); conv2.clearCache(); downsample?.conv.clearCache()
    }
}

/// torchvision `Bottleneck` v1.5 (expansion 4): conv1x1 -> bn1 -> relu -> conv3x3(s) -> bn2 -> relu ->
/// conv1x1 (4P) -> bn3, + shortcut, relu.
public final class Bottleneck: ResidualBlock {
    public let conv1: Conv2d
    public let bn1: BatchNorm
    public let conv2: Conv2d
    public let bn2: BatchNorm
    public let conv3: Conv2d
    public let bn3: BatchNorm
    public let downsample: Downsample?

    public init(inChannels: Int, planes: Int, stride: Int, downsample: Bool, rng: inout SeededGenerator) {
        let out = planes * 4
        conv1 = Conv2d(inChannels: inChannels, outChannels: planes, kernelSize: 1, stride: 1, padding: 0,
                       bias: false, initialization: .kaimingNormalFanOutReLU, rng: &rng)
        bn1 = BatchNorm(numFeatures: planes)
        conv2 = Conv2d(inChannels: planes, outChannels: planes, kernelSize: 3, stride: stride, padding: 1,
                       bias: false, initialization: .kaimingNormalFanOutReLU, rng: &rng)
        bn2 = BatchNorm(numFeatures: planes)
        conv3 = Conv2d(inChannels: planes, outChannels: out, kernelSize: 1, stride: 1, padding: 0,
                       bias: false, initialization: .kaimingNormalFanOutReLU, rng: &rng)
        bn3 = BatchNorm(numFeatures: out)
        self.downsample = downsample ? Downsample(inChannels: inChannels, outChannels: out, stride: stride, rng: &rng) : nil
    }

    public func namedParameters() -> [(String, Parameter)] {
        scoped("conv1", conv1.namedParameters()) + scoped("bn1", bn1.namedParameters())
            + scoped("conv2", conv2.namedParameters()) + scoped("bn2", bn2.namedParameters())
            + scoped("conv3", conv3.namedParameters()) + scoped("bn3", bn3.namedParameters())
            + scoped("downsample", downsample?.namedParameters() ?? [])
    }

    public func namedBuffers() -> [(String, Buffer)] {
        scoped("bn1", bn1.namedBuffers()) + scoped("bn2", bn2.namedBuffers()) + scoped("bn3", bn3.namedBuffers())
            + scoped("downsample", downsample?.namedBuffers() ?? [])
    }

    // x [N, C, H, W] -> [N, 4P, H/s, W/s]
    // BatchNorm, residual add and ReLU run fused (BatchNorm.forward(_:mode:residual:relu:)).
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        var out = bn1.forward(conv1.forward(x), mode: mode, residual: nil, relu: true)
        out = bn2.forward(conv2.forward(out), mode: mode, residual: nil, relu: true)
        let identity = downsample?.forward(x, mode: mode) ?? x
        return bn3.forward(conv3.forward(out), mode: mode, residual: identity, relu: true)
    }

    public func backward(_ dOut: Tensor) -> Tensor {
        let (d3, dRes) = bn3.backwardFused(dOut)
        let d = dRes!
        var g = bn2.backward(conv3.backward(d3))
        g = conv1.backward(bn1.backward(conv2.backward(g)))
        addInPlace(&g, downsample?.backward(d) ?? d)
        return g
    }

    public func clearCaches() {
        conv1.clearCache(); conv2.clearCache(); conv3.clearCache(); downsample?.conv.clearCache()
    }
}
