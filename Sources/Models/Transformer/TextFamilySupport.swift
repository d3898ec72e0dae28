import Foundation

// What BERT and DistilBERT share as families: the attach-point grammar `<prefix>.N` (after
// block N, 0-based; unit N+1), HF config.json model_type detection, the number checks, and the
// encoder fields (`EncoderFieldNames`, `TextFamily`).

struct TextAttachGrammar {
    let family: String
    /// "encoder.layer" / "transformer.layer".
    let prefix: String

    /// Unit of `<prefix>.N` (N+1), nil when `layers` is unknown and the name is well formed.
    func unit(_ name: String, layers: Int?) throws -> Int? {
        let allowed = "allowed: \(prefix).N with N in 0...\(layers.map { "\($0 - 1)" } ?? "layers-1") (0-based block index)"
        let tail = name.hasPrefix(prefix + ".") ? String(name.dropFirst(prefix.count + 1)) : ""
        guard let n = Int(tail), n >= 0, tail == "\(n)" else {
            throw ModelError.badAttachPoint(name, reason: "not a \(family) attach point; \(allowed)")
        }
        guard let layers else { return nil }
        guard n < layers else { throw ModelError.badAttachPoint(name, reason: "the model has \(layers) layers; \(allowed)") }
        return n + 1
    }

    func name(afterBlock n: Int) -> String { "\(prefix).\(n)" }
}

/// The `model_type` of an HF config.json, or nil.
func hfModelType(_ data: Data) -> String? {
    (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["model_type"] as? String
}

extension FamilyConfig {
    /// Throws unless `heads` divides `width` (field `headsKey`).
    func requireDivides(_ heads: Int, _ width: Int, headsKey: String, widthKey: String) throws {
        guard width % heads == 0 else {
            throw FamilyConfigError(.invalid, field: headsKey, "\(heads) does not divide \(widthKey) \(width)")
        }
    }
}

/// The HF names of the encoder sizes both text families have (BertConfig / DistilBertConfig
/// spell them differently), for config.json reading and for the family configs alike.
public struct EncoderFieldNames: Sendable {
    let hidden, layers, heads, intermediate, hiddenDropout, attentionDropout, activation: String
    static let bert = EncoderFieldNames(hidden: "hidden_size", layers: "num_hidden_layers", heads: "num_attention_heads",
                                        intermediate: "intermediate_size", hiddenDropout: "hidden_dropout_prob",
                                        attentionDropout: "attention_probs_dropout_prob", activation: "hidden_act")
    static let distilBert = EncoderFieldNames(hidden: "dim", layers: "n_layers", heads: "n_heads", intermediate: "hidden_dim",
                                              hiddenDropout: "dropout", attentionDropout: "attention_dropout", activation: "activation")

    /// The family-config keys of these fields (the activation is GELU by construction).
    var keys: [String] {
        [hidden, layers, heads, intermediate, "max_position_embeddings", "vocab_size", hiddenDropout, attentionDropout]
    }

    /// The family config of a shape (all fields given).
    func fields(_ s: TransformerShape) -> FamilyConfig {
        FamilyConfig([hidden: .int(s.hidden), layers: .int(s.layers), heads: .int(s.heads), intermediate: .int(s.intermediate),
                      "max_position_embeddings": .int(s.maxPositions), "vocab_size": .int(s.vocab),
                      hiddenDropout: .double(Double(s.hiddenDropout)), attentionDropout: .double(Double(s.attentionDropout))])
    }

    /// These fields of `c` validated (sizes bounded as in a config.json, `ConfigLimits`, so counts
    /// never overflow) with their defaults; `vocab_size` stays absent when not given.
    func canonical(_ c: FamilyConfig) throws -> FamilyConfig {
        let width = try c.int(hidden, in: 1...ConfigLimits.width)
        var out = FamilyConfig([hidden: .int(width), layers: .int(try c.int(layers, in: 1...ConfigLimits.layers))])
        let h = try c.int(heads, in: 1...min(width, ConfigLimits.heads))
        try c.requireDivides(h, width, headsKey: heads, widthKey: hidden)
        out[heads] = .int(h)
        out[intermediate] = .int(try c.int(intermediate, in: 1...(4 * ConfigLimits.width)))
        out["max_position_embeddings"] = .int(try c.int("max_position_embeddings", default: 512, in: 2...ConfigLimits.positions))
        out["vocab_size"] = try c.optionalInt("vocab_size", in: 5...ConfigLimits.vocabulary).map { .int($0) }
        out[hiddenDropout] = .double(try c.probability(hiddenDropout, default: 0.1))
        out[attentionDropout] = .double(try c.probability(attentionDropout, default: 0.1))
        return out
    }

    /// The shape of a canonical config (vocabulary from the config, else `context.vocabSize`).
    func shape(_ f: FamilyConfig, context: MainNetContext, typeVocab: Int, eps: Float) throws -> TransformerShape {
        func i(_ k: String) -> Int { if case .int(let v)? = f[k] { return v }; return 0 }
        func d(_ k: String) -> Float { if case .double(let v)? = f[k] { return Float(v) }; return 0 }
        guard let vocab = f["vocab_size"] == nil ? context.vocabSize : i("vocab_size") else {
            throw FamilyConfigError(.missing, field: "vocab_size", "is required when no vocabulary file is given")
        }
        return TransformerShape(hidden: i(hidden), layers: i(layers), heads: i(heads), intermediate: i(intermediate),
                                maxPositions: i("max_position_embeddings"), vocab: vocab, typeVocab: typeVocab, eps: eps,
                                hiddenDropout: d(hiddenDropout), attentionDropout: d(attentionDropout))
    }
}

/// What BERT and DistilBERT declare alike as families: config.json files by model_type, the
/// attach grammar, the longest input, and the shared encoder fields.
public protocol TextFamily: MainNetFamily {
    associatedtype Config: EncoderConfig
    /// The HF names of the encoder fields.
    var encoderFields: EncoderFieldNames { get }
    /// The attach-point grammar (`encoder.layer.N`, `transformer.layer.N`).
    var attachPrefix: String { get }
    /// The HF base model the reference counts name ("HF base model (BertModel with pooler)").
    var referenceLabel: String { get }
    /// The HF config of a family config (vocabulary from the config, else `context.vocabSize`).
    func encoderConfig(_ c: FamilyConfig, context: MainNetContext) throws -> Config
}

extension TextFamily {
    public var inputKind: InputKind { .text }
    public var readsConfigFiles: Bool { true }
    public func describesConfigFile(_ data: Data) -> Bool { hfModelType(data) == name }

    var grammar: TextAttachGrammar { TextAttachGrammar(family: name, prefix: attachPrefix) }

    /// Number of blocks of a config, when given.
    func layers(_ c: FamilyConfig) -> Int? { if case .int(let n)? = c[encoderFields.layers] { return n }; return nil }

    public func attachUnit(_ name: String, config: FamilyConfig?) throws -> Int? {
        try grammar.unit(name, layers: config.flatMap(layers))
    }

    public func maxInputLength(_ config: FamilyConfig) -> Int? {
        if case .int(let n)? = config["max_position_embeddings"] { return n }
        return 512
    }

    public func plan(_ config: FamilyConfig, context: MainNetContext) throws -> BackbonePlan {
        let c = try encoderConfig(config, context: context)
        return c.encoderShape.plan(length: context.sequenceLength, pooler: Config.hasPooler,
                                   reference: (referenceLabel, c.baseModelCost(length: context.sequenceLength)),
                                   unitName: grammar.name(afterBlock:))
    }

    public func describe(_ arch: String, config: FamilyConfig, context: MainNetContext, attach: String) throws -> String {
        "\(arch) (\(layers(config) ?? 0) layers), \(context.sequenceLength) tokens, SideNet on the [CLS] state after \(attach), "
            + "MainNet head on the \(Config.hasPooler ? "pooler output" : "[CLS] hidden state")"
    }
}
