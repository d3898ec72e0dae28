import Foundation
import Tensors

// The BERT family in one place: presets bert-base / bert-large, inline config and config.json
// under HF `BertConfig` names, attach points encoder.layer.N, HF weight names (`bert.` hub
// prefix, `cls.*` / `classifier.*` task heads skipped), compute (TransformerCompute).

public struct BertFamily: TextFamily {
    public init() {}
    public var name: String { "bert" }
    public var presetNames: [String] { ["bert-base", "bert-large"] }
    public var configHint: String { "a config.json path or inline HF BertConfig fields" }
    public var encoderFields: EncoderFieldNames { .bert }
    public var referenceLabel: String { "HF base model (BertModel with pooler)" }
    public var attachPrefix: String { "encoder.layer" }

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
        var f = EncoderFieldNames.bert.fields(c.encoderShape)
        f["type_vocab_size"] = .int(c.typeVocabSize)
        f["layer_norm_eps"] = .double(Double(c.layerNormEps))
        return f
    }

    public func canonicalConfig(_ c: FamilyConfig) throws -> FamilyConfig {
        try c.requireOnly(encoderFields.keys + ["type_vocab_size", "layer_norm_eps"])
        var out = try encoderFields.canonical(c)
        out["type_vocab_size"] = .int(try c.int("type_vocab_size", default: 2, in: 1...ConfigLimits.tokenTypes))
        out["layer_norm_eps"] = .double(try c.double("layer_norm_eps", default: 1e-12, allowed: "> 0 and <= 1") { $0 > 0 && $0 <= 1 })
        return out
    }

    public func readConfigFile(_ data: Data, file: String) throws -> FamilyConfig {
        BertFamily.fields(try BertConfig(json: data, file: file))
    }

    public func encoderConfig(_ c: FamilyConfig, context: MainNetContext) throws -> BertConfig { try bertConfig(c, context: context) }

    /// The HF config (vocabulary from the config, else `context.vocabSize`).
    public func bertConfig(_ c: FamilyConfig, context: MainNetContext) throws -> BertConfig {
        let f = try canonicalConfig(c)
        guard case .int(let typeVocab)? = f["type_vocab_size"], case .double(let eps)? = f["layer_norm_eps"] else {
            preconditionFailure("canonicalConfig fills type_vocab_size and layer_norm_eps")
        }
        return BertConfig(shape: try encoderFields.shape(f, context: context, typeVocab: typeVocab, eps: Float(eps)))
    }

    /// The paper: after block 4 of 12 (BERT-base), 8 of 24 (BERT-large).
    public func defaultAttachPoint(_ config: FamilyConfig) throws -> String {
        let n = layers(config) ?? 12
        return grammar.name(afterBlock: min(n >= 24 ? 7 : 3, n - 1))
    }

    public func makeBackbone(_ config: FamilyConfig, context: MainNetContext, rng: inout SeededGenerator) throws -> MainNetBackbone {
        BertModel(config: try bertConfig(config, context: context), seed: rng.next(), initialize: !context.weightsFollow)
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
}
