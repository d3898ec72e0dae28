import Foundation
import Tensors

// The DistilBERT family in one place: preset distilbert, inline config and config.json under HF
// `DistilBertConfig` names, attach points transformer.layer.N, HF weight names (`distilbert.`
// hub prefix, MLM / classification heads skipped), compute (TransformerCompute, no pooler).

public struct DistilBertFamily: TextFamily {
    public init() {}
    public var name: String { "distilbert" }
    public var presetNames: [String] { [] }
    public var configHint: String { "a config.json path or inline HF DistilBertConfig fields" }
    public var encoderFields: EncoderFieldNames { .distilBert }
    public var referenceLabel: String { "HF base model (DistilBertModel)" }
    public var attachPrefix: String { "transformer.layer" }

    /// `distilbert` alone is the preset (distilbert-base-uncased) unless a config is given.
    public func presetConfig(_ arch: String) -> FamilyConfig? {
        guard arch == name else { return nil }
        return try? canonicalConfig(FamilyConfig(["dim": .int(768), "n_layers": .int(6), "n_heads": .int(12),
                                                  "hidden_dim": .int(3072), "vocab_size": .int(30522)]))
    }

    /// The family config of a typed config (all fields given).
    public static func fields(_ c: DistilBertConfig) -> FamilyConfig { EncoderFieldNames.distilBert.fields(c.encoderShape) }

    public func canonicalConfig(_ c: FamilyConfig) throws -> FamilyConfig {
        try c.requireOnly(encoderFields.keys)
        return try encoderFields.canonical(c)
    }

    public func readConfigFile(_ data: Data, file: String) throws -> FamilyConfig {
        DistilBertFamily.fields(try DistilBertConfig(json: data, file: file))
    }

    public func encoderConfig(_ c: FamilyConfig, context: MainNetContext) throws -> DistilBertConfig { try distilBertConfig(c, context: context) }

    /// The HF config (vocabulary from the config, else `context.vocabSize`).
    public func distilBertConfig(_ c: FamilyConfig, context: MainNetContext) throws -> DistilBertConfig {
        DistilBertConfig(shape: try encoderFields.shape(try canonicalConfig(c), context: context, typeVocab: 0,
                                                        eps: DistilBertConfig.baseUncased.layerNormEps))
    }

    /// The paper: after block 1 of 6.
    public func defaultAttachPoint(_ config: FamilyConfig) throws -> String { grammar.name(afterBlock: 0) }

    public func makeBackbone(_ config: FamilyConfig, context: MainNetContext, rng: inout SeededGenerator) throws -> MainNetBackbone {
        DistilBertModel(config: try distilBertConfig(config, context: context), seed: rng.next(), initialize: !context.weightsFollow)
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
}
