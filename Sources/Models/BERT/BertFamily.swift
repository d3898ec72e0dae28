import Foundation
import Tensors

// The BERT family in one place: presets bert-base / bert-large, inline config and config.json
// under HF `BertConfig` names, attach points encoder.layer.N, HF weight names (`bert.` hub
// prefix, `cls.*` / `classifier.*` task heads skipped), compute (TransformerCompute).

public struct BertFamily: MainNetFamily {
    public init() {}
    public var name: String { "bert" }
    public var inputKind: InputKind { .text }
    public var presetNames: [String] { ["bert-base", "bert-large"] }
    public var configHint: String { "a config.json path or inline HF BertConfig fields" }
    public var readsConfigFiles: Bool { true }
    let grammar = TextAttachGrammar(family: "bert", prefix: "encoder.layer")

    public func presetConfig(_ arch: String) -> FamilyConfig? {
        switch arch {
        case "bert-base": return try? canonicalConfig(BertFamily.shape(768, 12, 12, 3072))
        case "bert-large": return try? canonicalConfig(BertFamily.shape(1024, 24, 16, 4096))
        default: return nil
        }
    }

    /// bert-*-uncased sizes; the other fields take their (exact) defaults.
    static func shape(_ hidden: Int, _ layers: Int, _ heads: Int, _ inner: Int) -> FamilyConfig {
        FamilyConfig(["hidden_size": .int(hidden), "num_hidden_layers": .int(layers), "num_attention_heads": .int(heads),
                      "intermediate_size": .int(inner), "vocab_size": .int(30522)])
    }

    /// The family config of a typed config (all fields given).
    public static func fields(_ c: BertConfig) -> FamilyConfig {
        FamilyConfig(["hidden_size": .int(c.hiddenSize), "num_hidden_layers": .int(c.numHiddenLayers),
                      "num_attention_heads": .int(c.numAttentionHeads), "intermediate_size": .int(c.intermediateSize),
                      "max_position_embeddings": .int(c.maxPositionEmbeddings), "vocab_size": .int(c.vocabSize),
                      "type_vocab_size": .int(c.typeVocabSize), "hidden_dropout_prob": .double(Double(c.hiddenDropoutProb)),
                      "attention_probs_dropout_prob": .double(Double(c.attentionProbsDropoutProb)),
                      "layer_norm_eps": .double(Double(c.layerNormEps))])
    }

    static let keys = ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                       "max_position_embeddings", "vocab_size", "type_vocab_size", "hidden_dropout_prob",
                       "attention_probs_dropout_prob", "layer_norm_eps"]

    /// Sizes are bounded as in a config.json (`ConfigLimits`), so counts never overflow.
    public func canonicalConfig(_ c: FamilyConfig) throws -> FamilyConfig {
        try c.requireOnly(BertFamily.keys)
        let hidden = try c.int("hidden_size", in: 1...ConfigLimits.width)
        var out = FamilyConfig(["hidden_size": .int(hidden),
                                "num_hidden_layers": .int(try c.int("num_hidden_layers", in: 1...ConfigLimits.layers))])
        let heads = try c.int("num_attention_heads", in: 1...min(hidden, ConfigLimits.heads))
        try c.requireDivides(heads, hidden, headsKey: "num_attention_heads", widthKey: "hidden_size")
        out["num_attention_heads"] = .int(heads)
        out["intermediate_size"] = .int(try c.int("intermediate_size", in: 1...(4 * ConfigLimits.width)))
        out["max_position_embeddings"] = .int(try c.int("max_position_embeddings", default: 512, in: 2...ConfigLimits.positions))
        out["vocab_size"] = try c.optionalInt("vocab_size", in: 5...ConfigLimits.vocabulary).map { .int($0) }
        out["type_vocab_size"] = .int(try c.int("type_vocab_size", default: 2, in: 1...ConfigLimits.tokenTypes))
        out["hidden_dropout_prob"] = .double(try c.probability("hidden_dropout_prob", default: 0.1))
        out["attention_probs_dropout_prob"] = .double(try c.probability("attention_probs_dropout_prob", default: 0.1))
        out["layer_norm_eps"] = .double(try c.double("layer_norm_eps", default: 1e-12, allowed: "> 0 and <= 1") { $0 > 0 && $0 <= 1 })
        return out
    }

    public func readConfigFile(_ data: Data, file: String) throws -> FamilyConfig {
        BertFamily.fields(try BertConfig(json: data, file: file))
    }

    public func describesConfigFile(_ data: Data) -> Bool { hfModelType(data) == "bert" }

    /// The HF config (vocabulary from the config, else `context.vocabSize`).
    public func bertConfig(_ c: FamilyConfig, context: MainNetContext) throws -> BertConfig {
        let f = try canonicalConfig(c)
        func i(_ k: String) -> Int { if case .int(let v)? = f[k] { return v }; return 0 }
        func d(_ k: String) -> Float { if case .double(let v)? = f[k] { return Float(v) }; return 0 }
        guard let vocab = f["vocab_size"] == nil ? context.vocabSize : i("vocab_size") else {
            throw FamilyConfigError(.missing, field: "vocab_size", "is required when no vocabulary file is given")
        }
        return BertConfig(hiddenSize: i("hidden_size"), numHiddenLayers: i("num_hidden_layers"),
                          numAttentionHeads: i("num_attention_heads"), intermediateSize: i("intermediate_size"),
                          maxPositionEmbeddings: i("max_position_embeddings"), vocabSize: vocab,
                          typeVocabSize: i("type_vocab_size"), layerNormEps: d("layer_norm_eps"),
                          hiddenDropoutProb: d("hidden_dropout_prob"), attentionProbsDropoutProb: d("attention_probs_dropout_prob"))
    }

    private func layers(_ c: FamilyConfig) -> Int? { if case .int(let n)? = c["num_hidden_layers"] { return n }; return nil }

    public func attachUnit(_ name: String, config: FamilyConfig?) throws -> Int? {
        try grammar.unit(name, layers: config.flatMap(layers))
    }

    /// The paper: after block 4 of 12 (BERT-base), 8 of 24 (BERT-large).
    public func defaultAttachPoint(_ config: FamilyConfig) throws -> String {
        let n = layers(config) ?? 12
        return grammar.name(afterBlock: min(n >= 24 ? 7 : 3, n - 1))
    }

    public func maxInputLength(_ config: FamilyConfig) -> Int? {
        if case .int(let n)? = config["max_position_embeddings"] { return n }
        return 512
    }

    public func plan(_ config: FamilyConfig, context: MainNetContext) throws -> BackbonePlan {
        let c = try bertConfig(config, context: context)
        return c.encoderShape.plan(length: context.sequenceLength, pooler: true,
                                   reference: ("HF base model (BertModel with pooler)", c.baseModelCost(length: context.sequenceLength)),
                                   unitName: grammar.name(afterBlock:))
    }

    public func makeBackbone(_ config: FamilyConfig, context: MainNetContext, rng: inout SeededGenerator) throws -> MainNetBackbone {
        BertModel(config: try bertConfig(config, context: context), seed: rng.next())
    }

    public var weightNaming: WeightNaming {
        WeightNaming(format: "huggingface names", hubPrefix: "bert.", renamedSuffixes: [("LayerNorm.gamma", "LayerNorm.weight"), ("LayerNorm.beta", "LayerNorm.bias")],
                     droppedKeys: ["embeddings.position_ids", "embeddings.token_type_ids"], ignoredPrefixes: ["cls.", "classifier."])
    }

    public var publishedWeights: PublishedWeights {
        PublishedWeights(folders: [
            "bert-base": "https://huggingface.co/google-bert/bert-base-uncased (files config.json, vocab.txt, model.safetensors)",
            "bert-large": "https://huggingface.co/google-bert/bert-large-uncased (files config.json, vocab.txt, model.safetensors)",
        ])
    }

    public func describe(_ arch: String, config: FamilyConfig, context: MainNetContext, attach: String) throws -> String {
        "\(arch) (\(layers(config) ?? 0) layers), \(context.sequenceLength) tokens, SideNet on the [CLS] state after \(attach), "
            + "MainNet head on the pooler output"
    }
}

extension TransformerShape {
    /// Units: embeddings, then every block at sequence length `length`; head input = pooler or [CLS].
    func plan(length: Int, pooler: Bool, reference: (label: String, cost: ComputeCost),
              unitName: (Int) -> String) -> BackbonePlan {
        BackbonePlan(unitNames: ["embeddings"] + (0..<layers).map(unitName),
                     unitCosts: [embeddingsCost] + Array(repeating: layerCost(length: length), count: layers),
                     sideFeatures: Array(repeating: hidden, count: layers + 1), headFeatures: hidden,
                     headInputCost: pooler ? poolerCost : .zero, reference: reference)
    }
}
