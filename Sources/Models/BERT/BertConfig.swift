import Foundation

/// BERT hyper-parameters under HF `BertConfig` field names (formats.md 6.1). Missing config.json
/// fields take the transformers defaults (= bert-base-uncased).
public struct BertConfig: Equatable, Sendable, HFConfigFile {
    public var hiddenSize: Int            // hidden_size
    public var numHiddenLayers: Int       // num_hidden_layers
    public var numAttentionHeads: Int     // num_attention_heads
    public var intermediateSize: Int      // intermediate_size
    public var maxPositionEmbeddings: Int // max_position_embeddings
    public var vocabSize: Int             // vocab_size
    public var typeVocabSize: Int         // type_vocab_size
    public var layerNormEps: Float        // layer_norm_eps
    public var hiddenAct: String          // hidden_act (only "gelu")
    public var hiddenDropoutProb: Float   // hidden_dropout_prob
    public var attentionProbsDropoutProb: Float // attention_probs_dropout_prob

    public init(hiddenSize: Int = 768, numHiddenLayers: Int = 12, numAttentionHeads: Int = 12,
                intermediateSize: Int = 3072, maxPositionEmbeddings: Int = 512, vocabSize: Int = 30522,
                typeVocabSize: Int = 2, layerNormEps: Float = 1e-12, hiddenAct: String = "gelu",
                hiddenDropoutProb: Float = 0.1, attentionProbsDropoutProb: Float = 0.1) {
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.vocabSize = vocabSize
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.hiddenAct = hiddenAct
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
    }

    /// The config of an encoder shape (GELU).
    public init(shape s: TransformerShape) {
        self.init(hiddenSize: s.hidden, numHiddenLayers: s.layers, numAttentionHeads: s.heads, intermediateSize: s.intermediate,
                  maxPositionEmbeddings: s.maxPositions, vocabSize: s.vocab, typeVocabSize: s.typeVocab, layerNormEps: s.eps,
                  hiddenDropoutProb: s.hiddenDropout, attentionProbsDropoutProb: s.attentionDropout)
    }

    /// bert-base-uncased: 12 layers, 768 hidden, 12 heads, 3072 FFN.
    public static let baseUncased = BertConfig()
    /// bert-large-uncased: 24 layers, 1024 hidden, 16 heads, 4096 FFN.
    public static let largeUncased = BertConfig(hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16,
                                                intermediateSize: 4096)

    public static let hubConfigs = ["bert-base-uncased": baseUncased, "bert-large-uncased": largeUncased]
    public static let hubOrganisation = "google-bert"

    /// Decodes an HF `config.json`. `file` names the source in error messages.
    public init(json data: Data, file: String = "config.json") throws {
        let f = try ConfigFields(data: data, file: file)
        try f.requireModelType(["bert"])
        let d = BertConfig.baseUncased
        let typeVocab = try f.int("type_vocab_size", default: d.typeVocabSize, max: ConfigLimits.tokenTypes)
        let eps = try f.float("layer_norm_eps", default: d.layerNormEps, range: 0...1)
        self.init(shape: try f.encoderShape(.bert, defaults: d.encoderShape, typeVocab: typeVocab, eps: eps))
    }

    /// The architecture numbers shared by both encoders.
    public var encoderShape: TransformerShape {
        TransformerShape(hidden: hiddenSize, layers: numHiddenLayers, heads: numAttentionHeads,
                         intermediate: intermediateSize, maxPositions: maxPositionEmbeddings,
                         vocab: vocabSize, typeVocab: typeVocabSize, eps: layerNormEps,
                         hiddenDropout: hiddenDropoutProb, attentionDropout: attentionProbsDropoutProb)
    }
}
