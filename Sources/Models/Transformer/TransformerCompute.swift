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
}


extension BertConfig {
    /// HF `BertModel` with pooler at sequence length L (parameters: 109,482,240 for base).
    public func baseModelCost(length l: Int) -> ComputeCost {
        let s = encoderShape
        return s.embeddingsCost + ComputeCost(parameters: s.layers * s.layerCost(length: l).parameters,
                                              macs: s.layers * s.layerCost(length: l).macs) + s.poolerCost
    }

    /// Split at the SideNet attach point `encoder.layer.N`: prefix = embeddings + layers 0...N,
    /// SideNet = MLP on the [CLS] state, rest = layers N+1... + pooler, head = MLP on the pooler output.
    public func computeBreakdown(attachLayer n: Int, length l: Int, sideHidden: Int = 32, headHidden: Int = 32,
                                 outputs: Int = 1) -> ComputeBreakdown {
        encoderShape.plan(length: l, pooler: true, reference: ("", baseModelCost(length: l)), unitName: { "\($0)" })
            .breakdown(attachUnit: n + 1, sideHidden: sideHidden, headHidden: headHidden, outputs: outputs)
    }
}

extension DistilBertConfig {
    /// HF `DistilBertModel` at sequence length L (parameters: 66,362,880 for base; no pooler).
    public func baseModelCost(length l: Int) -> ComputeCost {
        let s = encoderShape
        return s.embeddingsCost + ComputeCost(parameters: s.layers * s.layerCost(length: l).parameters,
                                              macs: s.layers * s.layerCost(length: l).macs)
    }

    /// Split at `transformer.layer.N`: rest = layers N+1... (no pooler), head on the [CLS] state.
    public func computeBreakdown(attachLayer n: Int, length l: Int, sideHidden: Int = 32, headHidden: Int = 32,
                                 outputs: Int = 1) -> ComputeBreakdown {
        encoderShape.plan(length: l, pooler: false, reference: ("", baseModelCost(length: l)), unitName: { "\($0)" })
            .breakdown(attachUnit: n + 1, sideHidden: sideHidden, headHidden: headHidden, outputs: outputs)
    }
}
