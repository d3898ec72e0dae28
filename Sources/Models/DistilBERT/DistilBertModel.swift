import Foundation
import Tensors
import Layers

/// HF `DistilBertModel` (modeling_distilbert.py): keys `embeddings.*` (no token types),
/// `transformer.layer.N.*` (formats.md 6.3; hub files add `distilbert.`, stripped on load).
/// No pooler: features = the last [CLS] hidden state [B, D]. Attach point
/// `transformer.layer.N` reads block N's [CLS] hidden state.
public final class DistilBertModel: TransformerEncoder {
    public let config: DistilBertConfig

    /// A model with HF-style random init (normal(0, 0.02)), seeded; load weights to use it.
    /// `initialize` false leaves the encoder weights unset (only for a load that follows).
    public init(config: DistilBertConfig, seed: UInt64 = 0, initialize: Bool = true) {
        self.config = config
        super.init(shape: config.encoderShape, layerPrefix: "transformer.layer", names: .distilBert, seed: seed, initialize: initialize)
    }

    override var weightNaming: WeightNaming { DistilBertFamily().weightNaming }

    /// Describes the feature choice (recorded with runs).
    public var featureDescription: String { "DistilBERT last hidden state at [CLS] (no pooler)" }
}
