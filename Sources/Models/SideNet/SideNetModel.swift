import Layers
import Tensors

/// A MainNet of any family (a `MainNetBackbone` plus the paper's MLP `head`, which replaces the
/// family's classifier) with one or more SideNets (`MLPHead`s), each reading the activation
/// after one unit of the backbone (built by `MainNetFamily.makeModel`).
///
/// Checkpoint keys (see README.md, "Checkpoints"): the backbone's own (torchvision / HF names
/// without hub prefix), `head.{fc1,bn,fc2}.*`, and `sidenet.{fc1,bn,fc2}.*` for a single
/// SideNet or `sidenets.<i>.{fc1,bn,fc2}.*` for several.
///
/// Training (regime `full`, L = L_M + alpha L_S): `forwardAll` / `backwardAll` run the backbone
/// once and sum the branch gradients where a SideNet reads it. Regimes `heads` / `sidenet`:
/// `cacheFeatures(x)` once (eval mode), then train `head` and the SideNets on the cached tensors.
/// The `sideNet:` argument selects a SideNet (index into `attachUnits`), default 0.
public final class SideNetModel: Module {
    public let backbone: MainNetBackbone
    public let head: MLPHead
    /// Attach point names, in SideNet order.
    public let attachPoints: [String]
    /// Backbone unit each SideNet reads the output of.
    public let attachUnits: [Int]
    public let sideNets: [MLPHead]
    /// Analytic costs and sizes of the backbone for the input size.
    public let plan: BackbonePlan
    /// How published weight files name the backbone's tensors (see `loadPretrained`).
    public var weightNaming = WeightNaming(format: "state_dict names")

    /// - Parameters:
    ///   - attach: (name, unit) of each SideNet (the paper: one).
    ///   - hidden: hidden units of the SideNets; `headHidden` those of the head (nil: `hidden`).
    ///   - outputs: outputs of the head and the SideNets (1 = one sigmoid logit).
    public init(backbone: MainNetBackbone, plan: BackbonePlan, attach: [(name: String, unit: Int)], hidden: Int = 32,
                headHidden: Int? = nil, outputs: Int, rng: inout SeededGenerator) throws {
        guard !attach.isEmpty else { throw ModelError.badAttachPoint("", reason: "at least one attach point is needed") }
        guard Set(attach.map(\.unit)).count == attach.count else {
            throw ModelError.badAttachPoint(attach.map(\.name).joined(separator: ", "), reason: "two SideNets read the same unit")
        }
        self.backbone = backbone
        self.plan = plan
        var headRNG = rng.derived("head")
        head = MLPHead(inFeatures: plan.headFeatures, hidden: headHidden ?? hidden, outputs: outputs, rng: &headRNG)
        attachPoints = attach.map(\.name)
        attachUnits = attach.map(\.unit)
        sideNets = attach.enumerated().map { i, a in
            var r = rng.derived("sidenet\(i)")
            return MLPHead(inFeatures: plan.sideFeatures[a.unit], hidden: hidden, outputs: outputs, rng: &r)
        }
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

    private var units: Int { backbone.unitCount }
    /// The backbone's units as ranges ending after each attach unit and at the last unit: one
    /// `forwardUnits` call per range (eval passes keep a layout across the units of one call).
    private var segments: [Range<Int>] {
        var start = 0
        return Set(attachUnits + [units - 1]).sorted().map { end in defer { start = end + 1 }; return start..<(end + 1) }
    }

    // MARK: prefix / side / rest

    /// Input -> activation at SideNet i's attach point.
    public func forwardPrefix(_ x: MainNetActivation, mode: Mode, sideNet i: Int = 0) throws -> MainNetActivation {
        try backbone.forwardUnits(x, 0..<(attachUnits[i] + 1), mode: mode)
    }

    /// dActivation -> dx (shape [0] unless `computesInputGradient`).
    public func backwardPrefix(_ dActivation: Tensor, sideNet i: Int = 0) -> Tensor {
        backbone.backwardUnits(dActivation, 0..<(attachUnits[i] + 1))
    }

    /// Activation -> SideNet logits [N, K].
    public func sideLogits(_ a: MainNetActivation, mode: Mode, sideNet i: Int = 0) -> Tensor {
        sideNets[i].forward(backbone.sideInput(a), mode: mode)
    }

    /// dSideLogits [N, K] -> dActivation (shape of the activation tensor `shape`).
    public func backwardSide(_ dLogits: Tensor, shape: [Int], sideNet i: Int = 0) -> Tensor {
        backbone.sideInputBackward(sideNets[i].backward(dLogits), shape: shape)
    }

    /// Activation at SideNet i's attach point -> MainNet logits [N, K] (remaining units, head).
    public func forwardRest(_ a: MainNetActivation, mode: Mode, sideNet i: Int = 0) throws -> Tensor {
        let last = try backbone.forwardUnits(a, (attachUnits[i] + 1)..<units, mode: mode)
        return head.forward(backbone.headInput(last, mode: mode), mode: mode)
    }

    /// dMainLogits [N, K] -> dActivation at SideNet i's attach point.
    public func backwardRest(_ dLogits: Tensor, sideNet i: Int = 0) -> Tensor {
        backbone.backwardUnits(backbone.headInputBackward(head.backward(dLogits)), (attachUnits[i] + 1)..<units)
    }

    /// The MainNet alone: input -> logits [N, K].
    public func forwardMain(_ x: MainNetActivation, mode: Mode) throws -> Tensor {
        let last = try backbone.forwardUnits(x, 0..<units, mode: mode)
        return head.forward(backbone.headInput(last, mode: mode), mode: mode)
    }

    /// Backward of `forwardMain`.
    @discardableResult
    public func backwardMain(_ dLogits: Tensor) -> Tensor {
        backbone.backwardUnits(backbone.headInputBackward(head.backward(dLogits)), 0..<units)
    }

    // MARK: heads on cached features

    /// One backbone pass giving what the `heads` regime caches: every SideNet's input (in
    /// `attachUnits` order) and the head input.
    public func cacheFeatures(_ x: MainNetActivation, mode: Mode = .eval) throws -> (attach: [Tensor], features: Tensor) {
        if mode == .eval, let f = try backbone.cacheFeatures(x, attachUnits: attachUnits) { return (f.attach, f.head) }
        var attach = [Tensor?](repeating: nil, count: sideNets.count)
        var a = x
        for range in segments {
            a = try backbone.forwardUnits(a, range, mode: mode)
            for (j, au) in attachUnits.enumerated() where au == range.upperBound - 1 { attach[j] = backbone.sideInput(a) }
        }
        return (attach.map { $0! }, backbone.headInput(a, mode: mode))
    }

    // MARK: whole network

    /// x -> MainNet logits and every SideNet's logits (one backbone pass).
    public func forwardAll(_ x: MainNetActivation, mode: Mode) throws -> (main: Tensor, side: [Tensor]) {
        var side = [Tensor?](repeating: nil, count: sideNets.count)
        var a = x
        activationShapes = [[Int]](repeating: [], count: sideNets.count)
        for range in segments {
            a = try backbone.forwardUnits(a, range, mode: mode)
            for (j, au) in attachUnits.enumerated() where au == range.upperBound - 1 {
                side[j] = sideNets[j].forward(backbone.sideInput(a), mode: mode)
                activationShapes[j] = a.tensor.shape
            }
        }
        return (head.forward(backbone.headInput(a, mode: mode), mode: mode), side.map { $0! })
    }
    private var activationShapes: [[Int]] = []

    /// Backward of `forwardAll` for L = L_M + sum_j alpha_j L_Sj: pass dL/dMainLogits and each
    /// dL/dSideLogits (already scaled by alpha). The activation gradients of the branches are
    /// summed where a SideNet reads the backbone. Returns dx (see `computesInputGradient`).
    @discardableResult
    public func backwardAll(main dMain: Tensor, side dSide: [Tensor]) -> Tensor {
        precondition(dSide.count == sideNets.count, "backwardAll: \(dSide.count) SideNet gradients for \(sideNets.count) SideNets")
        var d = backbone.headInputBackward(head.backward(dMain))
        for u in (0..<units).reversed() {
            for (j, au) in attachUnits.enumerated() where au == u {
                let ds = backbone.sideInputBackward(sideNets[j].backward(dSide[j]), shape: activationShapes[j])
                d = add(d.reshaped(ds.shape), ds)
            }
            d = backbone.backwardUnits(d, u..<(u + 1))
        }
        return d
    }

    /// Frees the activations cached for backward.
    public func clearCaches() { backbone.clearCaches() }

    // MARK: early exit and compute

    /// Eval-mode stages for `earlyExit` with SideNet i.
    public func earlyExitStages(sideNet i: Int = 0) -> EarlyExitStages<MainNetActivation, MainNetActivation> {
        EarlyExitStages(prefix: { [unowned self] x in try self.forwardPrefix(x, mode: .eval, sideNet: i) },
                        side: { [unowned self] a in self.sideLogits(a, mode: .eval, sideNet: i) },
                        rest: { [unowned self] a in try self.forwardRest(a, mode: .eval, sideNet: i) },
                        select: { a, rows in a.gatherRows(rows) },
                        concat: { parts in try MainNetActivation.concatRows(parts) })
    }

    /// Early-exit inference of one batch with SideNet i (see `earlyExit`).
    public func earlyExit(_ x: MainNetActivation, theta: Float, sideNet i: Int = 0) throws -> [EarlyExitResult] {
        try Models.earlyExit(earlyExitStages(sideNet: i), input: x, theta: theta)
    }

    /// Per-example parameters and FLOPs split at SideNet i (prefix, SideNet, rest, head).
    public func computeBreakdown(sideNet i: Int = 0) -> ComputeBreakdown {
        ComputeBreakdown(prefix: plan.unitCosts[0...attachUnits[i]].reduce(.zero, +), sideNet: sideNets[i].shape.cost,
                         rest: plan.unitCosts[(attachUnits[i] + 1)...].reduce(plan.headInputCost, +), head: head.shape.cost)
    }
}

extension MainNetFamily {
    /// A MainNet of this family with SideNets at `attach`, randomly initialised from `seed`
    /// (backbone, head and each SideNet from their own derived generators).
    public func makeModel(_ config: FamilyConfig, context: MainNetContext, attach: [String], hidden: Int = 32,
                          headHidden: Int? = nil, seed: UInt64) throws -> SideNetModel {
        var rng = SeededGenerator(seed: seed)
        let points = try attach.map { name -> (name: String, unit: Int) in
            guard let u = try attachUnit(name, config: config) else { throw ModelError.badAttachPoint(name, reason: "no config") }
            return (name, u)
        }
        var backboneRNG = rng.derived("backbone")
        let backbone = try makeBackbone(config, context: context, rng: &backboneRNG)
        let model = try SideNetModel(backbone: backbone, plan: try plan(config, context: context), attach: points, hidden: hidden,
                                     headHidden: headHidden, outputs: context.outputs, rng: &rng)
        model.weightNaming = weightNaming
        return model
    }
}

extension SideNetModel {
    /// A model on this one's backbone (the same object, weights as loaded) whose head and
    /// SideNets are initialised from `seed` exactly as `MainNetFamily.makeModel(seed:)`
    /// initialises them (each from its own generator derived from the seed, independent of the
    /// backbone). Runs on cached features of one frozen backbone build and load it once.
    public func sharingBackbone(seed: UInt64) throws -> SideNetModel {
        var rng = SeededGenerator(seed: seed)
        let model = try SideNetModel(backbone: backbone, plan: plan, attach: zip(attachPoints, attachUnits).map { (name: $0, unit: $1) },
                                     hidden: sideNets[0].hidden, headHidden: head.hidden, outputs: head.outputs, rng: &rng)
        model.weightNaming = weightNaming
        return model
    }
}
