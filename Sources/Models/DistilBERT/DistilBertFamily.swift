import Foundation
import Tensors

// The DistilBERT family in one place: preset distilbert, inline config and config.json under HF
// `DistilBertConfig` names, attach points transformer.layer.N, HF weight names (`distilbert.`
// hub prefix, MLM / classification heads skipped), compute (TransformerCompute, no pooler).

public struct DistilBertFamily: MainNetFamily {
    public init() {}
    public var name: String { "distilbert" }
    public var inputKind: InputKind { .text }
    public var presetNames: [String] { [] }
    public var configHint: String { "a config.json path or inline HF DistilBertConfig fields" }
    public var readsConfigFiles: Bool { true }
    let grammar = TextAttachGrammar(family: "distilbert", prefix: "transformer.layer")

    /// `distilbert` alone is the preset (distilbert-base-uncased) unless a config is given.
    public func presetConfig(_ arch: String) -> FamilyConfig? {
        guard arch == name else { return nil }
        return try? canonicalConfig(FamilyConfig(["dim": .int(768), "n_layers": .int(6), "n_heads": .int(12),
                                                  "hidden_dim": .int(3072), "vocab_size": .int(30522)]))
    }

    /// The family config of a typed config (all fields given).
    public static func fields(_ c: DistilBertConfig) -> FamilyConfig {
        FamilyConfig(["dim": .int(c.dim), "n_layers": .int(c.nLayers), "n_heads": .int(c.nHeads), "hidden_dim": .int(c.hiddenDim),
                      "max_position_embeddings": .int(c.maxPositionEmbeddings), "vocab_size": .int(c.vocabSize),
                      "dropout": .double(Double(c.dropout)), "attention_dropout": .double(Double(c.attentionDropout))])
    }

    static let keys = ["dim", "n_layers", "n_heads", "hidden_dim", "max_position_embeddings", "vocab_size", "dropout",
                       "attention_dropout"]

    public func canonicalConfig(_ c: FamilyConfig) throws -> FamilyConfig {
        try c.requireOnly(DistilBertFamily.keys)
        let dim = try c.int("dim", in: 1...ConfigLimits.width)
        var out = FamilyConfig(["dim": .int(dim), "n_layers": .int(try c.int("n_layers", in: 1...ConfigLimits.layers))])
        let heads = try c.int("n_heads", in: 1...min(dim, ConfigLimits.heads))
        try c.requireDivides(heads, dim, headsKey: "n_heads", widthKey: "dim")
        out["n_heads"] = .int(heads)
        out["hidden_dim"] = .int(try c.int("hidden_dim", in: 1...(4 * ConfigLimits.width)))
        out["max_position_embeddings"] = .int(try c.int("max_position_embeddings", default: 512, in: 2...ConfigLimits.positions))
        out["vocab_size"] = try c.optionalInt("vocab_size", in: 5...ConfigLimits.vocabulary).map { .int($0) }
        out["dropout"] = .double(try c.probability("dropout", default: 0.1))
        out["attention_dropout"] = .double(try c.probability("attention_dropout", default: 0.1))
        return out
    }

    public func readConfigFile(_ data: Data, file: String) throws -> FamilyConfig {
        DistilBertFamily.fields(try DistilBertConfig(json: data, file: file))
    }

    public func describesConfigFile(_ data: Data) -> Bool { hfModelType(data) == "distilbert" }

    /// The HF config (vocabulary from the config, else `context.vocabSize`).
    public func distilBertConfig(_ c: FamilyConfig, context: MainNetContext) throws -> DistilBertConfig {
        let f = try canonicalConfig(c)
        func i(_ k: String) -> Int { if case .int(let v)? = f[k] { return v }; return 0 }
        func d(_ k: String) -> Float { if case .double(let v)? = f[k] { return Float(v) }; return 0 }
        guard let vocab = f["vocab_size"] == nil ? context.vocabSize : i("vocab_size") else {
            throw FamilyConfigError(.missing, field: "vocab_size", "is required when no vocabulary file is given")
        }
        return DistilBertConfig(dim: i("dim"), nLayers: i("n_layers"), nHeads: i("n_heads"), hiddenDim: i("hidden_dim"),
                                maxPositionEmbeddings: i("max_position_embeddings"), vocabSize: vocab,
                                dropout: d("dropout"), attentionDropout: d("attention_dropout"))
    }

    private func layers(_ c: FamilyConfig) -> Int? { if case .int(let n)? = c["n_layers"] { return n }; return nil }

    public func attachUnit(_ name: String, config: FamilyConfig?) throws -> Int? {
        try grammar.unit(name, layers: config.flatMap(layers))
    }

    /// The paper: after block 1 of 6.
    public func defaultAttachPoint(_ config: FamilyConfig) throws -> String { grammar.name(afterBlock: 0) }

    public func maxInputLength(_ config: FamilyConfig) -> Int? {
        if case .int(let n)? = config["max_position_embeddings"] { return n }
        return 512
    }

    public func plan(_ config: FamilyConfig, context: MainNetContext) throws -> BackbonePlan {
        let c = try distilBertConfig(config, context: context)
        return c.encoderShape.plan(length: context.sequenceLength, pooler: false,
                                   reference: ("HF base model (DistilBertModel)", c.baseModelCost(length: context.sequenceLength)),
                                   unitName: grammar.name(afterBlock:))
    }

    public func makeBackbone(_ config: FamilyConfig, context: MainNetContext, rng: inout SeededGenerator) throws -> MainNetBackbone {
        DistilBertModel(config: try distilBertConfig(config, context: context), seed: rng.next())
    }

    public var weightNaming: WeightNaming {
        WeightNaming(format: "huggingface names", hubPrefix: "distilbert.", droppedKeys: ["embeddings.position_ids"],
                     ignoredPrefixes: ["vocab_transform.", "vocab_layer_norm.", "vocab_projector.", "pre_classifier.",
                                       "classifier.", "pooler."])
    }

    public var publishedWeights: PublishedWeights {
        PublishedWeights(folders: [
            "distilbert": "https://huggingface.co/distilbert/distilbert-base-uncased (files config.json, vocab.txt, model.safetensors)",
        ])
    }

    public func describe(_ arch: String, config: FamilyConfig, context: MainNetContext, attach: String) throws -> String {
        "\(arch) (\(layers(config) ?? 0) layers), \(context.sequenceLength) tokens, SideNet on the [CLS] state after \(attach), "
            + "MainNet head on the [CLS] hidden state"
    }
}
