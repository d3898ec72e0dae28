import Layers
import Tensors

/// A MainNet ResNet (torchvision backbone without `fc`, plus the paper's MLP `head`) with one or
/// more SideNets (`MLPHead`s) reading the flattened activation after given blocks.
///
/// Checkpoint keys (see README.md, "Checkpoints"): backbone keys exactly torchvision's (`conv1.weight`,
/// `layer1.0.bn1.running_mean`, ...), `head.{fc1,bn,fc2}.*`, and `sidenet.{fc1,bn,fc2}.*` for a
/// single SideNet or `sidenets.<i>.{fc1,bn,fc2}.*` for several.
///
/// Training (regime `full`, L = L_M + alpha L_S): `forwardPrefix` -> `sideLogits` and
/// `forwardRest` on the same activation -> `backwardRest` + `backwardSide` (sum the two
/// activation gradients) -> `backwardPrefix`. Or `forwardAll` / `backwardAll`, which do the same
/// for every SideNet. Regimes `heads` / `sidenet`: cache `cacheFeatures(x)` once (eval mode) and
/// train `head` (`headLogits`/`backwardHead`) and the SideNet (`sideLogits`/`backwardSide`) on the
/// cached tensors. The `sideNet:` argument selects a SideNet (index into `attachPoints`), default 0.
public final class SideNetResNet: Module {
    public let config: ResNetConfig
    /// Input height and width the SideNet input sizes were derived from.
    public let inputHeight: Int, inputWidth: Int
    public let backbone: ResNet
    public let head: MLPHead
    public let attachPoints: [ResNetAttachPoint]
    public let sideNets: [MLPHead]
    /// Analytic layout for the input size (shapes, parameters, MACs).
    public let plan: ResNetPlan
    private let attachUnits: [Int]

    /// - Parameters:
    ///   - config: backbone; `config.numClasses` = outputs of the head and the SideNets
    ///     (1 = one sigmoid logit).
    ///   - attach: SideNet attach points (the paper: one, `.layer1`).
    ///   - hidden: hidden units of the SideNets (paper: 32).
    ///   - headHidden: hidden units of the MainNet head (`mainnet.head.hidden`; nil: `hidden`).
    public init(config: ResNetConfig, inputHeight: Int, inputWidth: Int,
                attach: [ResNetAttachPoint] = [.layer1], hidden: Int = 32, headHidden: Int? = nil,
                rng: inout SeededGenerator) throws {
        guard !attach.isEmpty else { throw ModelError.badAttachPoint("", reason: "at least one attach point is needed") }
        for a in attach { try a.validate(in: config) }
        guard inputHeight >= 1, inputWidth >= 1 else { throw ModelError.badInput("input size \(inputHeight)x\(inputWidth)") }
        self.config = config
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.plan = ResNetPlan(config: config, height: inputHeight, width: inputWidth)
        var backboneRNG = rng.derived("backbone")
        backbone = ResNet(config: config, includeFC: false, rng: &backboneRNG)
        var headRNG = rng.derived("head")
        head = MLPHead(inFeatures: config.featureChannels, hidden: headHidden ?? hidden, outputs: config.numClasses, rng: &headRNG)
        attachPoints = attach
        var sides: [MLPHead] = []
        for (i, a) in attach.enumerated() {
            var r = rng.derived("sidenet\(i)")
            let feats = plan.activationShape(a).reduce(1, *)
            sides.append(MLPHead(inFeatures: feats, hidden: hidden, outputs: config.numClasses, rng: &r))
        }
        sideNets = sides
        attachUnits = attach.map { $0.blocksBefore(in: config) }
        _ = rng.next()
    }

    /// Checkpoint prefix of SideNet i: "sidenet" (one SideNet) or "sidenets.<i>".
    public func sideNetPrefix(_ i: Int) -> String { sideNets.count == 1 ? "sidenet" : "sidenets.\(i)" }

    public func namedParameters() -> [(String, Parameter)] {
        var p = backbone.namedParameters() + scoped("head", head.namedParameters())
        for (i, s) in sideNets.enumerated() { p += scoped(sideNetPrefix(i), s.namedParameters()) }
        return p
    }

    public func namedBuffers() -> [(String, Buffer)] {
        var p = backbone.namedBuffers() + scoped("head", head.namedBuffers())
        for (i, s) in sideNets.enumerated() { p += scoped(sideNetPrefix(i), s.namedBuffers()) }
        return p
    }

    /// Whether backward passes return the gradient w.r.t. the input image (default false).
    public var computesInputGradient: Bool {
        get { backbone.computesInputGradient }
        set { backbone.computesInputGradient = newValue }
    }

    /// Activation shape per example [C, H, W] at SideNet i's attach point.
    public func activationShape(sideNet i: Int = 0) -> [Int] { plan.activationShape(attachPoints[i]) }

    // MARK: prefix / side / rest

    /// x [N, 3, H, W] -> activation [N, C, h, w] at SideNet i's attach point.
    public func forwardPrefix(_ x: Tensor, mode: Mode, sideNet i: Int = 0) -> Tensor {
        backbone.forwardUnits(x, 0..<(attachUnits[i] + 1), mode: mode)
    }

    /// dActivation -> dx (shape [0] unless `computesInputGradient`).
    public func backwardPrefix(_ dActivation: Tensor, sideNet i: Int = 0) -> Tensor {
        backbone.backwardUnits(dActivation, 0..<(attachUnits[i] + 1))
    }

    /// activation [N, C, h, w] -> SideNet logits [N, K].
    public func sideLogits(_ activation: Tensor, mode: Mode, sideNet i: Int = 0) -> Tensor {
        sideNets[i].forward(activation, mode: mode)
    }

    /// dSideLogits [N, K] -> dActivation [N, C, h, w].
    public func backwardSide(_ dLogits: Tensor, sideNet i: Int = 0) -> Tensor { sideNets[i].backward(dLogits) }

    /// activation at SideNet i's attach point -> MainNet logits [N, K] (remaining blocks, pool, head).
    public func forwardRest(_ activation: Tensor, mode: Mode, sideNet i: Int = 0) -> Tensor {
        head.forward(backbone.pool(backbone.forwardUnits(activation, (attachUnits[i] + 1)..<backbone.unitCount, mode: mode)), mode: mode)
    }

    /// dMainLogits [N, K] -> dActivation at SideNet i's attach point.
    public func backwardRest(_ dLogits: Tensor, sideNet i: Int = 0) -> Tensor {
        backbone.backwardUnits(backbone.backwardPool(head.backward(dLogits)), (attachUnits[i] + 1)..<backbone.unitCount)
    }

    // MARK: heads on cached features

    /// Pooled features [N, featureChannels] (the head's input), backbone in `mode` (default eval).
    public func headInputFeatures(_ x: Tensor, mode: Mode = .eval) -> Tensor { backbone.features(x, mode: mode) }

    /// Activation [N, C, h, w] at SideNet i's attach point (default eval).
    public func attachFeatures(_ x: Tensor, mode: Mode = .eval, sideNet i: Int = 0) -> Tensor { forwardPrefix(x, mode: mode, sideNet: i) }

    /// One backbone pass giving what the `heads` regime caches: the activation at every attach
    /// point (in `attachPoints` order) and the pooled head input.
    public func cacheFeatures(_ x: Tensor, mode: Mode = .eval) -> (attach: [Tensor], features: Tensor) {
        var attach = [Tensor?](repeating: nil, count: sideNets.count)
        var a = x
        for u in 0..<backbone.unitCount {
            a = backbone.forwardUnits(a, u..<(u + 1), mode: mode)
            for (j, au) in attachUnits.enumerated() where au == u { attach[j] = a }
        }
        return (attach.map { $0! }, backbone.pool(a))
    }

    /// Pooled features [N, C] -> MainNet logits [N, K].
    public func headLogits(_ features: Tensor, mode: Mode) -> Tensor { head.forward(features, mode: mode) }
    /// dLogits -> dFeatures.
    public func backwardHead(_ dLogits: Tensor) -> Tensor { head.backward(dLogits) }

    // MARK: whole network

    /// x -> MainNet logits and every SideNet's logits (one backbone pass).
    public func forwardAll(_ x: Tensor, mode: Mode) -> (main: Tensor, side: [Tensor]) {
        var side = [Tensor?](repeating: nil, count: sideNets.count)
        var a = x
        for u in 0..<backbone.unitCount {
            a = backbone.forwardUnits(a, u..<(u + 1), mode: mode)
            for (j, au) in attachUnits.enumerated() where au == u { side[j] = sideNets[j].forward(a, mode: mode) }
        }
        return (head.forward(backbone.pool(a), mode: mode), side.map { $0! })
    }

    /// Backward of `forwardAll` for L = L_M + sum_j alpha_j L_Sj: pass dL/dMainLogits and each
    /// dL/dSideLogits (already scaled by alpha). The activation gradients of the branches are
    /// summed where a SideNet reads the backbone. Returns dx (see `computesInputGradient`).
    @discardableResult
    public func backwardAll(main dMain: Tensor, side dSide: [Tensor]) -> Tensor {
        precondition(dSide.count == sideNets.count, "backwardAll: \(dSide.count) SideNet gradients for \(sideNets.count) SideNets")
        var d = backbone.backwardPool(head.backward(dMain))
        for u in (0..<backbone.unitCount).reversed() {
            for (j, au) in attachUnits.enumerated() where au == u { d = add(d, sideNets[j].backward(dSide[j])) }
            d = backbone.backwardUnits(d, u..<(u + 1))
        }
        return d
    }

    /// Frees the activations cached for backward.
    public func clearCaches() { backbone.clearCaches() }

    // MARK: early exit and compute

    /// Eval-mode stages for `earlyExit` with SideNet i.
    public func earlyExitStages(sideNet i: Int = 0) -> EarlyExitStages<Tensor, Tensor> {
        EarlyExitStages(prefix: { [unowned self] x in self.forwardPrefix(x, mode: .eval, sideNet: i) },
                        side: { [unowned self] a in self.sideLogits(a, mode: .eval, sideNet: i) },
                        rest: { [unowned self] a in self.forwardRest(a, mode: .eval, sideNet: i) })
    }

    /// Early-exit inference of one batch with SideNet i (see `earlyExit`).
    public func earlyExit(_ x: Tensor, theta: Float, sideNet i: Int = 0) throws -> [EarlyExitResult] {
        try Models.earlyExit(earlyExitStages(sideNet: i), input: x, theta: theta)
    }

    /// Per-example parameters and FLOPs split at SideNet i (prefix, SideNet, rest, head).
    public func computeBreakdown(sideNet i: Int = 0) -> ComputeBreakdown {
        ComputeBreakdown(prefix: plan.prefix(attachPoints[i]), sideNet: sideNets[i].shape.cost,
                         rest: plan.rest(attachPoints[i]), head: head.shape.cost)
    }
}
