// The architecture numbers BERT and DistilBERT share (their HF configs name them differently:
// BertConfig, DistilBertConfig, and `EncoderFieldNames` maps the names).

/// The architecture numbers shared by both encoders (typeVocab 0 = no segment embeddings).
public struct TransformerShape: Equatable, Sendable {
    public var hidden: Int
    public var layers: Int
    public var heads: Int
    public var intermediate: Int
    public var maxPositions: Int
    public var vocab: Int
    public var typeVocab: Int
    public var eps: Float
    public var hiddenDropout: Float
    public var attentionDropout: Float
}
