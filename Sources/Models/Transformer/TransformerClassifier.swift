import Foundation
import Tensors
import Layers

/// The text MainNet: a BERT / DistilBERT encoder and the paper's MLP head on its features
/// (BERT: pooler output tanh(dense(h[CLS])); DistilBERT: last [CLS] hidden state).
/// Checkpoint keys: the encoder's own (`embeddings.*`, `encoder.*`, `pooler.*` for BERT;
/// `embeddings.*`, `transformer.*` for DistilBERT) and `head.fc1.*`, `head.bn.*`, `head.fc2.*`
/// (see README.md, "Checkpoints"). Load harness checkpoints with `loadStateDict(into:...)`.
public final class TransformerClassifier: Module {
    public let encoder: TransformerEncoder
    public let head: MLPHead
    /// One line recording the architecture choices (stored with runs).
    public let modelDescription: String

    /// `outputs` = 1 (sigmoid, SST-2) or K (softmax). The head is seeded by `seed`.
    public init(encoder: TransformerEncoder, headHidden: Int = 32, outputs: Int = 1, seed: UInt64 = 0) {
        self.encoder = encoder
        var rng = SeededGenerator(seed: seed).derived("head")
        head = MLPHead(inFeatures: encoder.hiddenSize, hidden: headHidden, outputs: outputs, rng: &rng)
        let feature = (encoder as? BertModel)?.featureDescription
            ?? (encoder as? DistilBertModel)?.featureDescription ?? "[CLS] hidden state"
        modelDescription = "\(feature) -> head Linear(\(encoder.hiddenSize),\(headHidden)) -> BatchNorm1d -> ReLU -> "
            + "Linear(\(headHidden),\(outputs)) \(outputs == 1 ? "sigmoid" : "softmax"); post-LN, exact GELU, "
            + "LayerNorm eps \(encoder.shape.eps), padding mask = most negative Float, token types 0"
    }

    public func namedParameters() -> [(String, Parameter)] {
        encoder.namedParameters() + scoped("head", head.namedParameters())
    }

    public func namedBuffers() -> [(String, Buffer)] { scoped("head", head.namedBuffers()) }

    /// Whole MainNet: logits [B, outputs].
    public func forward(_ batch: TokenBatch, mode: Mode) throws -> Tensor {
        head.forward(try encoder.forward(batch, mode: mode), mode: mode)
    }

    /// Early-exit stages at attach point `encoder.layer.N` / `transformer.layer.N` for the generic
    /// `earlyExit` routine (eval mode): the prefix runs once, the SideNet reads block N's [CLS]
    /// state, low-confidence examples are gathered (hidden states and masks) and continue from
    /// block N+1 through the head.
    public func earlyExitStages(attachLayer n: Int, sideNet: @escaping (Tensor) throws -> Tensor)
        -> EarlyExitStages<TokenBatch, TextActivation> {
        let encoder = self.encoder, head = self.head
        return EarlyExitStages(
            prefix: { batch in
                TextActivation(hidden: try encoder.forwardPrefix(batch, throughLayer: n, mode: .eval), mask: batch.mask)
            },
            side: { a in try sideNet(TransformerEncoder.cls(a.hidden)) },
            rest: { a in
                head.forward(try encoder.forwardRest(a.hidden, mask: a.mask, fromLayer: n + 1, mode: .eval), mode: .eval)
            },
            select: { a, rows in a.gatherRows(rows) })
    }
}

/// A transformer activation at an attach point: hidden states [B, T, D] and their mask [B, T].
public struct TextActivation {
    public var hidden: Tensor
    public var mask: Tensor

    public init(hidden: Tensor, mask: Tensor) {
        self.hidden = hidden
        self.mask = mask
    }

    /// The examples at `rows`, in that order.
    public func gatherRows(_ rows: [Int]) -> TextActivation {
        TextActivation(hidden: hidden.gatherRows(rows), mask: mask.gatherRows(rows))
    }
}
