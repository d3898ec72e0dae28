import Foundation
import Tensors
import Layers

/// HF `BertModel` (modeling_bert.py) with its pooler: keys `embeddings.*`, `encoder.layer.N.*`,
/// `pooler.dense.*` (formats.md 6.2; hub files add a `bert.` prefix, stripped on load).
/// Features = pooler output tanh(pooler.dense(h[CLS])) [B, D]; the SideNet attach point
/// `encoder.layer.N` reads block N's [CLS] hidden state.
public final class BertModel: TransformerEncoder {
    public let config: BertConfig
    let pooler: Linear
    let poolerActivation = Tanh()
    private var pooledCached = false

    /// A model with HF-style random init (normal(0, 0.02)), seeded; load weights to use it.
    /// `initialize` false leaves the encoder blocks' weights unset (only for a load that follows).
    public init(config: BertConfig, seed: UInt64 = 0, initialize: Bool = true) {
        self.config = config
        var rng = SeededGenerator(seed: seed).derived("pooler")
        pooler = Linear(inFeatures: config.hiddenSize, outFeatures: config.hiddenSize, rng: &rng)
        super.init(shape: config.encoderShape, layerPrefix: "encoder.layer", names: .bert, seed: seed, initialize: initialize)
        hfInitialize(scoped("pooler.dense", pooler.namedParameters()), rng: &rng)
    }

    public override func namedParameters() -> [(String, Parameter)] {
        super.namedParameters() + scoped("pooler.dense", pooler.namedParameters())
    }

    override var weightNaming: WeightNaming { BertFamily().weightNaming }

    /// Describes the feature choice (recorded with runs).
    public var featureDescription: String { "BERT pooler output tanh(pooler.dense(h[CLS]))" }

    // hidden [B, T, D] -> tanh(h[CLS]·Wᵀ + b) [B, D]
    override func features(_ hidden: Tensor, cache: Bool) -> Tensor {
        pooledCached = cache
        return poolerActivation.forward(pooler.forward(TransformerEncoder.cls(hidden)))
    }

    override func features(cls: Tensor) -> Tensor {
        pooledCached = false
        return poolerActivation.forward(pooler.forward(cls))
    }

    override func featuresBackward(_ dFeatures: Tensor, batch b: Int, length t: Int) -> Tensor {
        precondition(pooledCached, "BertModel: pooler backward without a cached forward")
        pooledCached = false
        return TransformerEncoder.clsGradient(pooler.backward(poolerActivation.backward(dFeatures)), length: t)
    }
}
