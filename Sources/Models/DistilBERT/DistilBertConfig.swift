import Foundation

/// DistilBERT hyper-parameters under HF `DistilBertConfig` field names (formats.md 6.1). Missing
/// config.json fields take the transformers defaults (= distilbert-base-uncased).
public struct DistilBertConfig: Equatable, Sendable, HFConfigFile {
    public var dim: Int                   // dim
    public var nLayers: Int               // n_layers
    public var nHeads: Int                // n_heads
    public var hiddenDim: Int             // hidden_dim (FFN inner)
    public var maxPositionEmbeddings: Int // max_position_embeddings
    public var vocabSize: Int             // vocab_size
    public var dropout: Float             // dropout
    public var attentionDropout: Float    // attention_dropout
    public var activation: String         // activation (only "gelu")
    /// LayerNorm eps: hard-coded 1e-12 in transformers' DistilBERT.
    public var layerNormEps: Float = 1e-12

    public init(dim: Int = 768, nLayers: Int = 6, nHeads: Int = 12, hiddenDim: Int = 3072,
                maxPositionEmbeddings: Int = 512, vocabSize: Int = 30522, dropout: Float = 0.1,
                attentionDropout: Float = 0.1, activation: String = "gelu") {
        self.dim = dim
        self.nLayers = nLayers
        self.nHeads = nHeads
        self.hiddenDim = hiddenDim
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.vocabSize = vocabSize
        self.dropout = dropout
        self.attentionDropout = attentionDropout
        self.activation = activation
    }

    /// The config of an encoder shape (GELU; no segment embeddings, eps fixed).
    public init(shape s: TransformerShape) {
        self.init(dim: s.hidden, nLayers: s.layers, nHeads: s.heads, hiddenDim: s.intermediate, maxPositionEmbeddings: s.maxPositions,
                  vocabSize: s.vocab, dropout: s.hiddenDropout, attentionDropout: s.attentionDropout)
    }

    /// distilbert-base-uncased: 6 layers, 768 dim, 12 heads, 3072 FFN.
    public static let baseUncased = DistilBertConfig()

    public static let hubConfigs = ["distilbert-base-uncased": baseUncased]
    public static let hubOrganisation = "distilbert"

    /// Decodes an HF `config.json`. `file` names the source in error messages.
    public init(json data: Data, file: String = "config.json") throws {
        let f = try ConfigFields(data: data, file: file)
        try f.requireModelType(["distilbert"])
        let d = DistilBertConfig.baseUncased
        self.init(shape: try f.encoderShape(.distilBert, defaults: d.encoderShape, typeVocab: 0, eps: d.layerNormEps))
        if try f.bool("sinusoidal_pos_embds", default: false) {
            throw TextModelError.badConfigField(file: file, field: "sinusoidal_pos_embds", expected: "false (learned positions)",
                                                found: "boolean true")
        }
    }

    /// The architecture numbers shared by both encoders.
    public var encoderShape: TransformerShape {
        TransformerShape(hidden: dim, layers: nLayers, heads: nHeads, intermediate: hiddenDim,
                         maxPositions: maxPositionEmbeddings, vocab: vocabSize, typeVocab: 0, eps: layerNormEps,
                         hiddenDropout: dropout, attentionDropout: attentionDropout)
    }
}
