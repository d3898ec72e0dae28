/// `training.regime`: the name a spec gives a training regime. What each name means is its
/// `declaration`; the runner reads only that.
public enum Regime: String, Codable, CaseIterable, Sendable {
    /// MainNet body frozen; the MainNet head and the SideNet are trained (the paper's setting:
    /// "the SideNet is fine-tuned with the last layer of the MainNet").
    case heads
    /// Only the SideNet is trained; the whole MainNet, head included, stays as loaded.
    case sidenet
    /// Everything is trained on L = L_M + alpha * L_S.
    case full

    /// What this regime trains, freezes, caches and checkpoints: the one table of regimes.
    public var declaration: RegimeDeclaration {
        switch self {
        case .full:
            return RegimeDeclaration(regime: self, backbone: .trained, mainHead: .trained, sideNet: .trained,
                                     checkpoint: .full)
        case .heads:
            return RegimeDeclaration(regime: self, backbone: .frozen(batchNorm: .eval), mainHead: .trained,
                                     sideNet: .trained, checkpoint: .heads)
        case .sidenet:
            return RegimeDeclaration(regime: self, backbone: .frozen(batchNorm: .eval),
                                     mainHead: .frozen(batchNorm: .eval), sideNet: .trained, checkpoint: .heads)
        }
    }
}

/// The mode BatchNorm (and dropout) runs in.
public enum BatchNormMode: String, Codable, Sendable {
    /// Batch statistics, running statistics updated (dropout active).
    case train
    /// Running statistics, left unchanged (no dropout).
    case eval
}

/// How one part of the network behaves during training steps.
public enum PartTraining: Equatable, Sendable {
    /// In the optimizer; forward in train mode.
    case trained
    /// Parameters never change (not in the optimizer, no gradient); forward in `batchNorm` mode.
    case frozen(batchNorm: BatchNormMode)

    public var isTrained: Bool { self == .trained }
    /// The mode of this part's forward pass during a training step.
    public var trainingMode: BatchNormMode {
        switch self {
        case .trained: return .train
        case .frozen(let m): return m
        }
    }
}

/// The parts of a MainNet with a SideNet, as the runner trains and checkpoints them.
public enum NetPart: String, CaseIterable, Sendable {
    /// The MainNet up to its head (ResNet body, transformer encoder).
    case backbone
    /// The MainNet head (`head.*`).
    case mainHead = "head"
    /// The SideNet (`sidenet.*`).
    case sideNet = "sidenet"
}

/// What a run's checkpoint holds (its `contents` metadata value).
public enum CheckpointContents: String, Codable, CaseIterable, Sendable {
    /// Every tensor of the network: backbone, `head.*`, `sidenet.*` (the SideNet even when the
    /// baseline variant never ran it).
    case full
    /// `head.*` and, for the SideNet variant, `sidenet.*`; the backbone is the spec's weight file.
    case heads
}

/// One training regime as data: what trains, what is frozen and in which mode, whether the
/// backbone's features can be computed once and cached, and what a checkpoint holds. Adding a
/// regime is one `Regime` case plus its row in `Regime.declaration` (and its tests); `problems`
/// lists what the runner cannot execute.
public struct RegimeDeclaration: Equatable, Sendable {
    public var regime: Regime
    public var backbone: PartTraining
    public var mainHead: PartTraining
    public var sideNet: PartTraining
    public var checkpoint: CheckpointContents

    public init(regime: Regime, backbone: PartTraining, mainHead: PartTraining, sideNet: PartTraining,
                checkpoint: CheckpointContents) {
        self.regime = regime; self.backbone = backbone; self.mainHead = mainHead; self.sideNet = sideNet
        self.checkpoint = checkpoint
    }

    public func training(of part: NetPart) -> PartTraining {
        switch part {
        case .backbone: return backbone
        case .mainHead: return mainHead
        case .sideNet: return sideNet
        }
    }

    /// A backbone frozen in eval mode maps each example to fixed features: they are computed
    /// once (the SideNet input at the attach point and the head input) and cached.
    public var cachesFeatures: Bool { backbone == .frozen(batchNorm: .eval) }

    /// The MainNet (backbone or head) learns something: false when only the SideNet trains, so
    /// the baseline variant (no SideNet) would train nothing.
    public var trainsMainNet: Bool { backbone.isTrained || mainHead.isTrained }

    /// A frozen head is never initialised by training, so the MainNet's weights must hold it.
    public var needsLoadedHead: Bool { !mainHead.isTrained }

    /// The parts whose tensors a checkpoint holds, for a run with (`withSide`) or without a SideNet.
    public func checkpointParts(withSide: Bool) -> [NetPart] {
        switch checkpoint {
        case .full: return [.backbone, .mainHead, .sideNet]
        case .heads: return withSide ? [.mainHead, .sideNet] : [.mainHead]
        }
    }

    /// Why the runner could not execute this declaration (empty when it can).
    public var problems: [String] {
        var out: [String] = []
        if !cachesFeatures {
            // without cached features the whole network runs in train mode during a step
            for (name, p) in [("the MainNet head", mainHead), ("the SideNet", sideNet)] where p.trainingMode != .train {
                out.append("\(name) runs in eval mode while the backbone (not cached) runs in train mode")
            }
        }
        if backbone.isTrained && checkpoint != .full {
            out.append("the backbone trains, so the checkpoint must hold it (contents full)")
        }
        if !sideNet.isTrained && !trainsMainNet { out.append("nothing trains") }
        return out
    }
}
