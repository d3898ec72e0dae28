import Foundation
import Layers
import Specs
import Tensors

/// Losses of one training batch.
public struct JointLoss: Equatable {
    public var main: Double
    /// nil for the baseline variant (no SideNet).
    public var side: Double?
    public var alpha: Double
    /// L = L_M + α·L_S (L_M alone without a SideNet): what the gradients are of.
    public var total: Double { main + alpha * (side ?? 0) }
}

/// One training batch of regime `full` (the paper's joint fine-tuning): forward in train mode,
/// L = L_M + α·L_S, gradients accumulated into every parameter the loss reaches (backbone
/// included); with `withSide` false (baseline variant) the SideNet is not run at all and the
/// loss is L_M. The runner's epoch loop (`RunJob.trainEpoch`) composes the same calls.
func jointStep(_ net: Net, indices: [Int], data: PreparedData, alpha: Double, withSide: Bool) throws -> JointLoss {
    let (main, side) = try net.forward(indices, data: data, mode: .train, withSide: withSide)
    let labels = indices.map { data.labels[$0] }
    let lm = headLoss(main, labels: labels)
    var ls: Double?
    var dSide: Tensor?
    if let side {
        let r = headLoss(side, labels: labels)
        ls = r.loss
        dSide = scaled(r.dLogits, by: alpha)
    }
    net.backward(main: lm.dLogits, side: dSide)
    return JointLoss(main: lm.loss, side: ls, alpha: alpha)
}

/// The network and data of a spec with the joint objective exposed, for tests and probes:
/// gradients of L_M + α·L_S with respect to every parameter, by name.
public final class JointObjective {
    let net: Net
    let data: PreparedData

    /// Builds the spec's network (weights loaded as the runner loads them) and data.
    public init(spec: ExperimentSpec, baseDir: URL, seed: Int) throws {
        data = try PreparedData.load(spec, baseDir: baseDir)
        (net, _, _) = try buildNet(spec, data: data, seed: seed, baseDir: baseDir)
    }

    /// Every parameter under its checkpoint name (`conv1.weight`, `head.fc1.weight`, `sidenet.fc2.bias`, ...).
    public var parameters: [(String, Parameter)] { net.module.namedParameters() }
    public var trainIndices: [Int] { data.train }

    /// Zeroes every gradient, then one joint training step's forward and backward on `indices`
    /// (no optimiser step). Deterministic for ResNets (no dropout; train-mode BatchNorm uses the
    /// batch statistics).
    public func gradients(_ indices: [Int], alpha: Double, withSide: Bool) throws -> JointLoss {
        for (_, p) in parameters { p.zeroGrad() }
        net.beginEpoch(0, seed: 0)  // the same dropout masks on every call (text models)
        return try jointStep(net, indices: indices, data: data, alpha: alpha, withSide: withSide)
    }

    /// The loss alone (a forward pass in train mode, gradients discarded).
    public func loss(_ indices: [Int], alpha: Double, withSide: Bool) throws -> JointLoss {
        let r = try gradients(indices, alpha: alpha, withSide: withSide)
        for (_, p) in parameters { p.zeroGrad() }
        return r
    }
}
