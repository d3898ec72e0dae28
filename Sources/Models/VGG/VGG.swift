import Layers
import Tensors

/// torchvision VGG's `features` (`torchvision/models/vgg.py`, `make_layers`): per config entry
/// a 3x3 conv (padding 1, bias) [+ BatchNorm2d] + ReLU, or "M" = MaxPool2d(2, 2). Every module
/// is one unit, indexed as in torchvision's Sequential, so keys are `features.N.weight`,
/// `features.N.running_mean`, ... and a SideNet can read the output of any `features.N`.
/// After the last unit, torchvision's `avgpool` (7x7) and `classifier.0...5` (`VGGClassifier`)
/// give the MainNet head's input [N, 4096]; the head replaces `classifier.6`, as ResNet's `fc`.
public final class VGG: Module {
    public enum Unit {
        case conv(Conv2d)
        case norm(BatchNorm)
        case relu(ReLU)
        case pool(MaxPool2d)
    }

    public let config: VGGConfig
    /// The modules of `features`, in torchvision's order.
    public let units: [Unit]
    /// avgpool + classifier.0...5: features -> the head's input.
    public let classifier: VGGClassifier

    /// torchvision's init (conv kaiming_normal fan_out with zero bias, BN 1/0, Linear N(0, 0.01)), seeded.
    public init(config: VGGConfig, rng: inout SeededGenerator) {
        self.config = config
        var units: [Unit] = []
        var cin = 3
        for layer in config.layers {
            guard let c = layer else { units.append(.pool(MaxPool2d(kernelSize: 2, stride: 2, padding: 0))); continue }
            units.append(.conv(Conv2d(inChannels: cin, outChannels: c, kernelSize: 3, padding: 1, bias: true,
                                      initialization: .kaimingNormalFanOutReLU, rng: &rng)))
            if config.batchNorm { units.append(.norm(BatchNorm(numFeatures: c))) }
            units.append(.relu(ReLU()))
            cin = c
        }
        self.units = units
        if case .conv(let first) = units[0] { first.computesInputGradient = false }
        classifier = VGGClassifier(config: config, rng: &rng)
    }

    public func namedParameters() -> [(String, Parameter)] {
        units.enumerated().flatMap { i, u -> [(String, Parameter)] in
            switch u {
            case .conv(let c): return scoped("features.\(i)", c.namedParameters())
            case .norm(let b): return scoped("features.\(i)", b.namedParameters())
            case .relu, .pool: return []
            }
        } + scoped("classifier", classifier.namedParameters())
    }

    public func namedBuffers() -> [(String, Buffer)] {
        units.enumerated().flatMap { i, u -> [(String, Buffer)] in
            if case .norm(let b) = u { return scoped("features.\(i)", b.namedBuffers()) }
            return []
        }
    }

    /// Runs `features.i` for i in `range`: x [N, C, H, W] -> [N, C', H', W'].
    public func forwardUnits(_ x: Tensor, _ range: Range<Int>, mode: Mode) -> Tensor {
        var a = x
        for i in range {
            switch units[i] {
            case .conv(let c): a = c.forward(a)
            case .norm(let b): a = b.forward(a, mode: mode)
            case .relu(let r): a = r.forward(a)
            case .pool(let p): a = p.forward(a)
            }
        }
        return a
    }

    /// Backward through `features.i` for i in `range` (reversed); [0] from features.0 unless
    /// `computesInputGradient`.
    public func backwardUnits(_ dOut: Tensor, _ range: Range<Int>) -> Tensor {
        var d = dOut
        for i in range.reversed() {
            switch units[i] {
            case .conv(let c): d = c.backward(d)
            case .norm(let b): d = b.backward(d)
            case .relu(let r): d = r.backward(d)
            case .pool(let p): d = p.backward(d)
            }
        }
        return d
    }
}

extension VGG: ConvBackbone {
    public var unitCount: Int { units.count }

    // a [N, C, h, w] -> [N, classifierWidth]
    public func headInput(_ a: MainNetActivation, mode: Mode) -> Tensor { classifier.forward(a.tensor, mode: mode) }
    public func headInputBackward(_ d: Tensor) -> Tensor { classifier.backward(d) }

    public func reseedDropout(_ generator: SeededGenerator) { classifier.reseed(generator) }

    public func clearCaches() {
        for u in units { if case .conv(let c) = u { c.clearCache() } }
    }

    public var computesInputGradient: Bool {
        get { if case .conv(let c) = units[0] { return c.computesInputGradient }; return false }
        set { if case .conv(let c) = units[0] { c.computesInputGradient = newValue } }
    }
}
