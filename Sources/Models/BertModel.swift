import Foundation
import Tensors
import Layers

/// HF `BertModel` (modeling_bert.py) with its pooler: keys `embeddings.*`, `encoder.layer.N.*`,
/// `pooler.dense.*` (formats.md 6.2; hub files add a `bert.` prefix, stripped on load).
/// Features = pooler output tanh(pooler.dense(h[CLS])) [B, D]; the SideNet attach point
/// `encoder.layer.N` reads block N's [CLS] hidden state.
public final class BertModel: TransformerEncoder {
    public let config: BertConfig
    let pooler: TransformerLinear
    private var pooled: [Float] = []   // tanh output, cached for backward

    /// A model with HF-style random init (normal(0, 0.02)), seeded; load weights to use it.
    public init(config: BertConfig, seed: UInt64 = 0) {
        self.config = config
        var rng = SeededGenerator(seed: seed).derived("pooler")
        pooler = TransformerLinear(config.hiddenSize, config.hiddenSize, rng: &rng)
        super.init(shape: config.encoderShape, layerPrefix: "encoder.layer", names: .bert, seed: seed)
    }

    public override func namedParameters() -> [(String, Parameter)] {
        super.namedParameters() + scoped("pooler.dense", pooler.namedParameters())
    }

    /// Describes the feature choice (recorded with runs).
    public var featureDescription: String { "BERT pooler output tanh(pooler.dense(h[CLS]))" }

    // hidden [B, T, D] -> tanh(h[CLS]·Wᵀ + b) [B, D]
    override func features(_ hidden: Tensor, cache: Bool) -> Tensor {
        let c = TransformerEncoder.cls(hidden)
        var y = pooler.forward(c.data, rows: c.shape[0], cache: cache)
        for i in 0..<y.count { y[i] = tanhf(y[i]) }
        pooled = cache ? y : []
        return Tensor(shape: c.shape, data: y)
    }

    override func featuresBackward(_ dFeatures: Tensor, batch b: Int, length t: Int) -> Tensor {
        precondition(pooled.count == dFeatures.count, "BertModel: pooler backward without a cached forward")
        var g = dFeatures.data
        for i in 0..<g.count { g[i] *= 1 - pooled[i] * pooled[i] }
        let dcls = pooler.backward(g)
        pooled = []
        return TransformerEncoder.clsGradient(Tensor(shape: dFeatures.shape, data: dcls), length: t)
    }
}
