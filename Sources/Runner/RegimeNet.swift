import Foundation
import Layers
import Models
import Specs
import Tensors

/// A `Net` trained under a regime's declaration: which parts are frozen (and the mode each part
/// runs in during a step), which parameters the optimizer updates, where the heads' inputs come
/// from (features cached once when the backbone is frozen in eval mode, else the network
/// itself) and what a checkpoint holds. Nothing here names a regime: the declaration decides.
final class RegimeNet {
    let net: Net
    let declaration: RegimeDeclaration
    /// The SideNet variant; false for the baseline, whose SideNet is never run.
    let withSide: Bool
    /// Frozen-backbone features of the whole pool; set (by the caller) when the declaration
    /// caches features, and then the backbone never runs during training or evaluation.
    var features: FeatureCache.Features?
    /// The heads as they run on cached feature rows (used only when `features` is set).
    private lazy var onRows = (main: FeatureHead(net.head), side: FeatureHead(net.side))

    /// Marks the parameters of every frozen part as frozen (no gradient, skipped by Adam).
    init(_ net: Net, declaration: RegimeDeclaration, withSide: Bool) {
        self.net = net
        self.declaration = declaration
        self.withSide = withSide
        for part in NetPart.allCases where !declaration.training(of: part).isTrained {
            for p in parameters(of: part) { p.frozen = true }
        }
    }

    func parameters(of part: NetPart) -> [Parameter] {
        switch part {
        case .backbone: return net.backboneParameters.map(\.1)
        case .mainHead: return net.head.namedParameters().map(\.1)
        case .sideNet: return net.side.namedParameters().map(\.1)
        }
    }

    /// The parts a step updates: the trained ones, the SideNet only in the SideNet variant.
    var trainedParts: [NetPart] {
        NetPart.allCases.filter { declaration.training(of: $0).isTrained && ($0 != .sideNet || withSide) }
    }

    /// The parameters the optimizer updates, in the network's order, under their checkpoint names.
    var trainableParameters: [(String, Parameter)] {
        let trained = Set(trainedParts.flatMap { parameters(of: $0).map(ObjectIdentifier.init) })
        return net.module.namedParameters().filter { trained.contains(ObjectIdentifier($0.1)) }
    }

    /// What a checkpoint holds (the declaration's checkpoint contents) under the harness's names.
    var checkpointModule: Module {
        let parts = declaration.checkpointParts(withSide: withSide)
        if parts.contains(.backbone) { return net.module }
        var children: [(String, Module)] = []
        if parts.contains(.mainHead) { children.append(("head", net.head)) }
        if parts.contains(.sideNet) { children.append(("sidenet", net.side)) }
        return CompositeModule(children)
    }

    /// During a training pass each part runs in its declared mode; evaluation is eval throughout.
    private func mode(of part: NetPart, _ mode: Mode) -> Mode {
        mode == .eval || declaration.training(of: part).trainingMode == .eval ? .eval : .train
    }

    /// Logits of both heads for `indices` (side nil for the baseline variant).
    func logits(_ indices: [Int], data: PreparedData, mode: Mode) throws -> (main: Tensor, side: Tensor?) {
        if let f = features {
            let main = onRows.main.forward(f.head, rows: indices, mode: self.mode(of: .mainHead, mode))
            let side = withSide ? onRows.side.forward(f.attach, rows: indices, mode: self.mode(of: .sideNet, mode)) : nil
            return (main, side)
        }
        // the whole network in one mode (`problems` rules out frozen-in-eval parts here)
        return try net.forward(indices, data: data, mode: mode, withSide: withSide)
    }

    /// Backward of the last training `logits`, given dL/dlogits (the side one already scaled by α).
    func backward(main: Tensor, side: Tensor?) {
        guard features != nil else { return net.backward(main: main, side: side) }
        // cached features are inputs: no gradient flows into them, nor into frozen heads
        if declaration.mainHead.isTrained { onRows.main.backwardParameters(main) }
        if let side, declaration.sideNet.isTrained { onRows.side.backwardParameters(side) }
    }
}

/// A head's training loss was not finite (NaN or infinite); `head` is "MainNet" or "SideNet".
struct NonFiniteLoss: Error {
    let head: String
}

/// One training step of any regime, used by the runner's epoch loop, the plan probe and the
/// tests (`JointObjective`): forward in train mode, L = L_M + α·L_S (L_M alone in the baseline
/// variant, whose SideNet is not run), backward into every trained parameter. No optimizer step.
/// Throws `NonFiniteLoss` before any backward when a loss is not finite.
func trainingStep(_ model: RegimeNet, indices: [Int], data: PreparedData, alpha: Double) throws -> JointLoss {
    let (main, side) = try model.logits(indices, data: data, mode: .train)
    let labels = indices.map { data.labels[$0] }
    let lm = headLoss(main, labels: labels)
    guard lm.loss.isFinite else { throw NonFiniteLoss(head: "MainNet") }
    var ls: Double?
    var dSide: Tensor?
    if let side {
        let r = headLoss(side, labels: labels)
        guard r.loss.isFinite else { throw NonFiniteLoss(head: "SideNet") }
        ls = r.loss
        dSide = scaled(r.dLogits, by: alpha)
    }
    model.backward(main: lm.dLogits, side: dSide)
    return JointLoss(main: lm.loss, side: ls, alpha: alpha)
}
