import Foundation
import Layers
import Optim
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

/// The network and data of a spec trained as its regime declares, through the runner's own
/// `trainingStep`, for tests and probes: gradients of L_M + α·L_S by parameter name, optimizer
/// steps, and the whole state by name and by part. In regimes that cache features, the
/// features of the whole pool are computed once in memory (the runner keeps them on disk).
public final class JointObjective {
    let net: Net
    let data: PreparedData
    public let declaration: RegimeDeclaration
    private var features: FeatureCache.Features?
    private var adam: Adam?

    /// Builds the spec's network (weights loaded as the runner loads them) and data, trained as
    /// `declaration` says (default: the spec's regime's).
    public init(spec: ExperimentSpec, baseDir: URL, seed: Int, declaration: RegimeDeclaration? = nil) throws {
        let d = declaration ?? spec.training.regime.declaration
        guard d.problems.isEmpty else { throw RunnerError.invalid("regime declaration: \(d.problems.joined(separator: "; "))") }
        self.declaration = d
        data = try PreparedData.load(spec, baseDir: baseDir)
        (net, _, _) = try buildNet(spec, data: data, seed: seed, baseDir: baseDir)
        if d.cachesFeatures { features = try poolFeatures(net, data: data, batchSize: spec.evaluation.batchSize) }
    }

    private func model(withSide: Bool) -> RegimeNet {
        let m = RegimeNet(net, declaration: declaration, withSide: withSide)
        m.features = features
        return m
    }

    /// Every parameter under its checkpoint name (`conv1.weight`, `head.fc1.weight`, `sidenet.fc2.bias`, ...).
    public var parameters: [(String, Parameter)] { net.module.namedParameters() }
    public var trainIndices: [Int] { data.train }

    /// The names of the parameters an optimizer step updates (in the order the runner's Adam holds them).
    public func trainableParameterNames(withSide: Bool) -> [String] { model(withSide: withSide).trainableParameters.map(\.0) }

    /// The whole state (parameters and buffers, e.g. BatchNorm running statistics) by checkpoint name.
    public var state: [String: [Float]] { net.module.stateDict().mapValues(\.data) }

    /// The checkpoint names of each part's parameters and buffers.
    public var stateNames: [NetPart: [String]] {
        let head = scoped("head", net.head.stateDict().map { ($0.key, ()) }).map(\.0)
        let side = scoped("sidenet", net.side.stateDict().map { ($0.key, ()) }).map(\.0)
        let heads = Set(head + side)
        return [.mainHead: head, .sideNet: side, .backbone: net.module.stateDict().keys.filter { !heads.contains($0) }]
    }

    /// Zeroes every gradient, then one training step's forward and backward on `indices`
    /// (no optimiser step). Deterministic for ResNets (no dropout; train-mode BatchNorm uses the
    /// batch statistics).
    public func gradients(_ indices: [Int], alpha: Double, withSide: Bool) throws -> JointLoss {
        for (_, p) in parameters { p.zeroGrad() }
        net.beginEpoch(0, seed: 0)  // the same dropout masks on every call (text models)
        return try trainingStep(model(withSide: withSide), indices: indices, data: data, alpha: alpha)
    }

    /// The loss alone (a forward pass in train mode, gradients discarded).
    public func loss(_ indices: [Int], alpha: Double, withSide: Bool) throws -> JointLoss {
        let r = try gradients(indices, alpha: alpha, withSide: withSide)
        for (_, p) in parameters { p.zeroGrad() }
        return r
    }

    /// One optimizer step as the runner takes it: gradients, then Adam (created on the first
    /// call, learning rate `lr`) over the regime's trainable parameters.
    public func step(_ indices: [Int], alpha: Double, withSide: Bool, lr: Double) throws -> JointLoss {
        let m = model(withSide: withSide)
        let adam = self.adam ?? Adam(parameters: m.trainableParameters, lr: lr)
        self.adam = adam
        adam.zeroGrad()
        net.beginEpoch(0, seed: 0)
        let r = try trainingStep(m, indices: indices, data: data, alpha: alpha)
        adam.step()
        return r
    }
}

/// Eval-mode backbone features of every pool example (in memory; the runner's are in `FeatureCache`).
func poolFeatures(_ net: Net, data: PreparedData, batchSize: Int) throws -> FeatureCache.Features {
    var f: FeatureCache.Features?
    let n = data.poolCount, order = data.featureOrder  // the runner's batches (text: by length)
    for start in stride(from: 0, to: n, by: batchSize) {
        let rows = Array(order[start..<min(n, start + batchSize)])
        let (a, h) = try net.features(rows, data: data)
        if f == nil {
            f = FeatureCache.Features(attach: FeatureMatrix(rows: n, cols: a.count / rows.count, dtype: .float32),
                                      head: FeatureMatrix(rows: n, cols: h.count / rows.count, dtype: .float32))
        }
        f!.attach.setRows(rows[...], from: a)
        f!.head.setRows(rows[...], from: h)
    }
    guard let features = f else { throw RunnerError.invalid("the data pool is empty") }
    return features
}
