import Layers
import Tensors

/// torchvision ResNet (`torchvision/models/resnet.py`): stem conv1 7x7/2 -> bn1 -> relu ->
/// maxpool 3x3/2, stages layer1...layer4, adaptive average pool, optional `fc`.
/// Keys are torchvision's state_dict keys. Works on any input size (the stem is unchanged:
/// 32x32 CIFAR images go 16 -> 8 -> 8/4/2/1).
///
/// The backbone is a sequence of units: unit 0 = stem, units 1...B = residual blocks in order
/// (layer1.0, layer1.1, ..., layer4.last). `forwardUnits`/`backwardUnits` run a contiguous
/// range, which is how prefixes and remainders around a SideNet are built.
public final class ResNet: Module {
    public let config: ResNetConfig
    public let conv1: Conv2d
    public let bn1: BatchNorm
    /// Blocks per stage: `stages[0]` is layer1.
    public let stages: [[ResidualBlock]]
    /// torchvision's classifier Linear(featureChannels, numClasses); nil in a MainNet whose
    /// head replaced it.
    public let fc: Linear?
    private let maxpool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
    private let avgpool = AdaptiveAvgPool2d()
    private let flatten = Flatten()

    /// Every block in forward order, with its module name ("layer2.0").
    public let blocks: [(name: String, block: ResidualBlock)]

    /// torchvision's init (conv kaiming_normal fan_out, BN 1/0, fc PyTorch default), seeded.
    public init(config: ResNetConfig, includeFC: Bool = true, rng: inout SeededGenerator) {
        self.config = config
        conv1 = Conv2d(inChannels: 3, outChannels: config.width, kernelSize: 7, stride: 2, padding: 3,
                       bias: false, initialization: .kaimingNormalFanOutReLU, rng: &rng)
        conv1.computesInputGradient = false
        bn1 = BatchNorm(numFeatures: config.width)
        var stages: [[ResidualBlock]] = []
        var named: [(String, ResidualBlock)] = []
        for s in 0..<4 {
            var stage: [ResidualBlock] = []
            for b in 0..<config.blocks[s] {
                let cin = config.inChannels(stage: s, block: b), p = config.planes(stage: s)
                let st = b == 0 ? config.stride(stage: s) : 1
                let ds = config.hasDownsample(stage: s, block: b)
                let block: ResidualBlock = config.block == .basic
                    ? BasicBlock(inChannels: cin, planes: p, stride: st, downsample: ds, rng: &rng)
                    : Bottleneck(inChannels: cin, planes: p, stride: st, downsample: ds, rng: &rng)
                stage.append(block)
                named.append(("layer\(s + 1).\(b)", block))
            }
            stages.append(stage)
        }
        self.stages = stages
        self.blocks = named
        fc = includeFC ? Linear(inFeatures: config.featureChannels, outFeatures: config.numClasses, rng: &rng) : nil
    }

    public func namedParameters() -> [(String, Parameter)] {
        var p = scoped("conv1", conv1.namedParameters()) + scoped("bn1", bn1.namedParameters())
        for (name, b) in blocks { p += scoped(name, b.namedParameters()) }
        if let fc { p += scoped("fc", fc.namedParameters()) }
        return p
    }

    public func namedBuffers() -> [(String, Buffer)] {
        var p = scoped("bn1", bn1.namedBuffers())
        for (name, b) in blocks { p += scoped(name, b.namedBuffers()) }
        return p
    }

    /// Number of units: stem + blocks.
    public var unitCount: Int { blocks.count + 1 }

    /// Whether `backward` returns the gradient w.r.t. the input image (off by default: the
    /// stem's input gradient is never needed for training and costs a full conv).
    public var computesInputGradient: Bool {
        get { conv1.computesInputGradient }
        set { conv1.computesInputGradient = newValue }
    }

    /// Input of the last eval-mode stem that ran fused (`resNetStemEval`, no caches kept): a
    /// backward after it first reruns the stem layer by layer to rebuild their caches.
    private var fusedStemInput: Tensor?

    // x [N, 3, H, W] -> [N, width, H/4, W/4]  (unit 0)
    private func forwardStem(_ x: Tensor, mode: Mode) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == 3, "ResNet: input shape \(x.shape), expected [N, 3, H, W]")
        if mode == .eval, let y = resNetStemEval(x, conv: conv1, bn: bn1, pool: maxpool) {
            fusedStemInput = x
            return y
        }
        fusedStemInput = nil
        return maxpool.forward(bn1.forward(conv1.forward(x), mode: mode, residual: nil, relu: true))
    }

    private func backwardStem(_ d: Tensor) -> Tensor {
        if let x = fusedStemInput {
            _ = maxpool.forward(bn1.forward(conv1.forward(x), mode: .eval, residual: nil, relu: true))
            fusedStemInput = nil
        }
        return conv1.backward(bn1.backward(maxpool.backward(d)))
    }

    /// Runs units `range` (0 = stem, i >= 1 = block i-1) on x and returns the last output.
    public func forwardUnits(_ x: Tensor, _ range: Range<Int>, mode: Mode) -> Tensor {
        var a = x
        if mode == .eval {   // blocks on tiny maps channels-last (ResNetChannelsLast.swift)
            if range.contains(0) { a = forwardStem(a, mode: mode) }
            return forwardBlocksEval(a, Swift.max(1, range.lowerBound)..<Swift.max(1, range.upperBound))
        }
        for u in range { a = u == 0 ? forwardStem(a, mode: mode) : blocks[u - 1].block.forward(a, mode: mode) }
        return a
    }

    /// Backward through units `range` (after `forwardUnits` over a range containing it).
    /// Returns the gradient w.r.t. the input of the first unit ([0] shape from the stem when
    /// `computesInputGradient` is false).
    public func backwardUnits(_ dOut: Tensor, _ range: Range<Int>) -> Tensor {
        var d = dOut
        for u in range.reversed() { d = u == 0 ? backwardStem(d) : blocks[u - 1].block.backward(d) }
        return d
    }

    // a [N, C, h, w] -> [N, C]
    public func pool(_ a: Tensor) -> Tensor { flatten.forward(avgpool.forward(a)) }
    public func backwardPool(_ d: Tensor) -> Tensor { avgpool.backward(flatten.backward(d)) }

    /// Pooled features [N, featureChannels] (the input of `fc` / of the MainNet head).
    public func features(_ x: Tensor, mode: Mode) -> Tensor { pool(forwardUnits(x, 0..<unitCount, mode: mode)) }

    /// torchvision's forward: x [N, 3, H, W] -> logits [N, numClasses]. Needs `fc`.
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        guard let fc else { preconditionFailure("ResNet.forward needs fc; this backbone was built without it") }
        return fc.forward(features(x, mode: mode))
    }

    /// dLogits [N, numClasses] -> dx (see `computesInputGradient`).
    public func backward(_ dLogits: Tensor) -> Tensor {
        guard let fc else { preconditionFailure("ResNet.backward needs fc") }
        return backwardUnits(backwardPool(fc.backward(dLogits)), 0..<unitCount)
    }

    /// Frees the activations cached for backward.
    public func clearCaches() {
        fusedStemInput = nil
        conv1.clearCache()
        for (_, b) in blocks { b.clearCaches() }
    }

    /// Unit index whose output the attach point reads (1 + blocks run before it).
    public func unit(after attach: ResNetAttachPoint) -> Int { attach.blocksBefore(in: config) }
}
