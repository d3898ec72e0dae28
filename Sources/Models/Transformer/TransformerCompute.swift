// Compute accounting for BERT / DistilBERT, in the ComputeCost conventions of
// ComputeAccounting.swift: learnable parameters (LayerNorm weight/bias included, BatchNorm
// buffers not) and MACs per example of the linear layers and the attention matmuls QKᵀ and
// A·V at sequence length L (FLOPs = 2·MACs). Embedding lookups, LayerNorm, softmax, GELU and
// residual additions cost no MACs.

extension TransformerShape {
    /// Word + position (+ token type) tables and the embedding LayerNorm: parameters only.
    public var embeddingsCost: ComputeCost {
        ComputeCost(parameters: (vocab + maxPositions + typeVocab) * hidden, macs: 0) + .norm(hidden)
    }

    /// One block at sequence length L: Q, K, V, output projections and the FFN on L tokens,
    /// QKᵀ and A·V (L·L·D MACs each, summed over heads), two LayerNorms.
    public func layerCost(length l: Int) -> ComputeCost {
        var c = ComputeCost.linear(hidden, hidden, positions: l) // query
        c += .linear(hidden, hidden, positions: l)               // key
        c += .linear(hidden, hidden, positions: l)               // value
        c += ComputeCost(parameters: 0, macs: 2 * l * l * hidden) // QKᵀ and A·V
        c += .linear(hidden, hidden, positions: l)               // attention output
        c += .norm(hidden)
        c += .linear(hidden, intermediate, positions: l)         // FFN in
        c += .linear(intermediate, hidden, positions: l)         // FFN out
        c += .norm(hidden)
        return c
    }

    /// BERT pooler: dense(D, D) on the [CLS] token only (tanh costs no MACs).
    public var poolerCost: ComputeCost { .linear(hidden, hidden, positions: 1) }

    /// The HF base model at sequence length L: embeddings, every block, the pooler when `pooler`.
    public func baseModelCost(length l: Int, pooler: Bool) -> ComputeCost {
        let layer = layerCost(length: l)
        return embeddingsCost + ComputeCost(parameters: layers * layer.parameters, macs: layers * layer.macs) + (pooler ? poolerCost : .zero)
    }

    /// Units: embeddings, then every block at sequence length `length`; head input = pooler or [CLS].
    func plan(length: Int, pooler: Bool, reference: (label: String, cost: ComputeCost),
              unitName: (Int) -> String) -> BackbonePlan {
        BackbonePlan(unitNames: ["embeddings"] + (0..<layers).map(unitName),
                     unitCosts: [embeddingsCost] + Array(repeating: layerCost(length: length), count: layers),
                     sideFeatures: Array(repeating: hidden, count: layers + 1), headFeatures: hidden,
                     headInputCost: pooler ? poolerCost : .zero, reference: reference)
    }
}

/// BertConfig and DistilBertConfig as encoders, for compute accounting.
public protocol EncoderConfig {
    var encoderShape: TransformerShape { get }
    /// Whether the HF base model ends in BERT's pooler (DistilBERT has none; its head reads [CLS]).
    static var hasPooler: Bool { get }
}

extension EncoderConfig {
    /// HF `BertModel` with pooler (109,482,240 parameters for base) / `DistilBertModel` (66,362,880)
    /// at sequence length L.
    public func baseModelCost(length l: Int) -> ComputeCost { encoderShape.baseModelCost(length: l, pooler: Self.hasPooler) }

    /// Split at the SideNet attach point after block N: prefix = embeddings + blocks 0...N, SideNet =
    /// MLP on the [CLS] state, rest = blocks N+1... (+ pooler), head = MLP on the pooler output / [CLS].
    public func computeBreakdown(attachLayer n: Int, length l: Int, sideHidden: Int = 32, headHidden: Int = 32,
                                 outputs: Int = 1) -> ComputeBreakdown {
        encoderShape.plan(length: l, pooler: Self.hasPooler, reference: ("", baseModelCost(length: l)), unitName: { "\($0)" })
            .breakdown(attachUnit: n + 1, sideHidden: sideHidden, headHidden: headHidden, outputs: outputs)
    }
}

extension BertConfig: EncoderConfig { public static var hasPooler: Bool { true } }
extension DistilBertConfig: EncoderConfig { public static var hasPooler: Bool { false } }
