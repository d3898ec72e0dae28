import Foundation
import Layers
import Tensors

/// A text MainNet (`TransformerClassifier`) with one or more SideNets, each reading the [CLS]
/// hidden state after a block (`encoder.layer.N` / `transformer.layer.N`). One encoder pass
/// serves every SideNet; training backpropagates L = L_M + sum_j alpha_j L_Sj (callers scale the
/// SideNet gradients by alpha), each SideNet's [CLS] gradient entering the stack at its block.
/// Checkpoint keys: the classifier's (`embeddings.*`, `encoder.*`/`transformer.*`, `pooler.*`,
/// `head.*`) and `sidenet.*` for one SideNet or `sidenets.<i>.*` for several (as `SideNetResNet`).
public final class SideNetTransformer: Module {
    public let classifier: TransformerClassifier
    /// Block index each SideNet reads, in SideNet order.
    public let attachLayers: [Int]
    public let sideNets: [MLPHead]
    private var pending: (batch: Int, length: Int)?

    public init(classifier: TransformerClassifier, attach: [String], hidden: Int = 32, seed: UInt64 = 0) throws {
        guard !attach.isEmpty else { throw TextModelError.invalidInput("at least one SideNet attach point is needed") }
        let enc = classifier.encoder
        let layers = try attach.map { try enc.attachLayer(named: $0) }
        guard Set(layers).count == layers.count else {
            throw TextModelError.invalidInput("attach points \(attach) name the same block twice")
        }
        self.classifier = classifier
        attachLayers = layers
        sideNets = layers.indices.map { i in
            var r = SeededGenerator(seed: seed).derived("sidenet\(i)")
            return MLPHead(inFeatures: enc.hiddenSize, hidden: hidden, outputs: classifier.head.outputs, rng: &r)
        }
    }

    /// Checkpoint prefix of SideNet i: "sidenet" (one SideNet) or "sidenets.<i>".
    public func sideNetPrefix(_ i: Int) -> String { sideNets.count == 1 ? "sidenet" : "sidenets.\(i)" }

    public func namedParameters() -> [(String, Parameter)] {
        var p = classifier.namedParameters()
        for (i, s) in sideNets.enumerated() { p += scoped(sideNetPrefix(i), s.namedParameters()) }
        return p
    }

    public func namedBuffers() -> [(String, Buffer)] {
        var b = classifier.namedBuffers()
        for (i, s) in sideNets.enumerated() { b += scoped(sideNetPrefix(i), s.namedBuffers()) }
        return b
    }

    /// One pass: MainNet logits [B, K] and every SideNet's logits [B, K]. `cache` (default: train
    /// mode) keeps what `backwardAll` needs.
    public func forwardAll(_ batch: TokenBatch, mode: Mode, cache: Bool? = nil) throws -> (main: Tensor, side: [Tensor]) {
        let enc = classifier.encoder
        let keep = cache ?? (mode == .train)
        let b = batch.batchSize, t = batch.length, d = enc.hiddenSize
        var h = try enc.embeddings.forward(batch, mode: mode, cache: keep, rng: &enc.rng)
        let bias = batch.maskBias
        var side = [Tensor?](repeating: nil, count: sideNets.count)
        for i in 0..<enc.numLayers {
            h = enc.layers[i].forward(h, batch: b, length: t, maskBias: bias, mode: mode, cache: keep, rng: &enc.rng)
            for (j, a) in attachLayers.enumerated() where a == i {
                side[j] = sideNets[j].forward(TransformerEncoder.cls(h.reshaped([b, t, d])), mode: mode)
            }
        }
        let features = enc.features(h.reshaped([b, t, d]), cache: keep)
        pending = keep ? (b, t) : nil
        return (classifier.head.forward(features, mode: mode), side.map { $0! })
    }

    /// Backward of the pending `forwardAll` given dL/dMainLogits and each dL/dSideLogits (already
    /// scaled by alpha); adds into every parameter gradient.
    public func backwardAll(main dMain: Tensor, side dSide: [Tensor]) {
        guard let (b, t) = pending else { preconditionFailure("backwardAll without a cached forwardAll") }
        precondition(dSide.count == sideNets.count, "backwardAll: \(dSide.count) SideNet gradients for \(sideNets.count) SideNets")
        let enc = classifier.encoder, d = enc.hiddenSize
        var g = enc.featuresBackward(classifier.head.backward(dMain), batch: b, length: t).reshaped([b * t, d])
        for i in stride(from: enc.numLayers - 1, through: 0, by: -1) {
            for (j, a) in attachLayers.enumerated() where a == i {
                let dcls = TransformerEncoder.clsGradient(sideNets[j].backward(dSide[j]), length: t)
                for k in 0..<g.count { g.data[k] += dcls.data[k] }
            }
            g = enc.layers[i].backward(g)
        }
        enc.embeddings.backward(g)
        pending = nil
    }

    /// Eval-mode stages of SideNet i for the generic `earlyExit`.
    public func earlyExitStages(sideNet i: Int = 0) -> EarlyExitStages<TokenBatch, TextActivation> {
        let side = sideNets[i]
        return classifier.earlyExitStages(attachLayer: attachLayers[i], sideNet: { side.forward($0, mode: .eval) })
    }
}
