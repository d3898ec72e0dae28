/// MainNet architectures. Presets imply their configuration; `resnet` and `bert` need `config`.
public enum ArchName: String, Codable, CaseIterable, Sendable {
    case resnet18, resnet34, resnet50, resnet101, resnet152, resnet
    case bertBase = "bert-base", bertLarge = "bert-large", bert, distilbert

    public enum Family: String, Sendable { case resnet, bert, distilbert }

    public var family: Family {
        switch self {
        case .resnet18, .resnet34, .resnet50, .resnet101, .resnet152, .resnet: return .resnet
        case .bertBase, .bertLarge, .bert: return .bert
        case .distilbert: return .distilbert
        }
    }

    /// The configuration a preset name implies (nil for `resnet` / `bert`).
    public var presetConfig: ModelConfig? {
        switch self {
        case .resnet18: return .resnet(ResNetConfigSpec(blocks: [2, 2, 2, 2], width: 64, block: .basic))
        case .resnet34: return .resnet(ResNetConfigSpec(blocks: [3, 4, 6, 3], width: 64, block: .basic))
        case .resnet50: return .resnet(ResNetConfigSpec(blocks: [3, 4, 6, 3], width: 64, block: .bottleneck))
        case .resnet101: return .resnet(ResNetConfigSpec(blocks: [3, 4, 23, 3], width: 64, block: .bottleneck))
        case .resnet152: return .resnet(ResNetConfigSpec(blocks: [3, 8, 36, 3], width: 64, block: .bottleneck))
        case .bertBase: return .bert(BertConfigSpec(hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12,
                                                    intermediateSize: 3072, vocabSize: 30522))
        case .bertLarge: return .bert(BertConfigSpec(hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16,
                                                     intermediateSize: 4096, vocabSize: 30522))
        case .distilbert: return .distilbert(DistilBertConfigSpec(dim: 768, nLayers: 6, nHeads: 12, hiddenDim: 3072,
                                                                  vocabSize: 30522))
        case .resnet, .bert: return nil
        }
    }
}

public enum ResNetBlockName: String, Codable, CaseIterable, Sendable { case basic, bottleneck }

/// Inline ResNet shape (torchvision layout): `blocks` per stage (4 stages), stem width
/// (`width`; planes of stage s = width * 2^s), block type.
public struct ResNetConfigSpec: Codable, Equatable, Sendable {
    public var blocks: [Int]
    public var width: Int
    public var block: ResNetBlockName
    public init(blocks: [Int], width: Int = 64, block: ResNetBlockName) {
        self.blocks = blocks; self.width = width; self.block = block
    }
    static let keys = ["blocks", "width", "block"]
}

/// Inline BERT shape under HF `BertConfig` field names. `vocab_size` nil = number of lines of
/// the `vocab` file.
public struct BertConfigSpec: Codable, Equatable, Sendable {
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var vocabSize: Int?
    public var typeVocabSize: Int
    public var hiddenDropoutProb: Double
    public var attentionProbsDropoutProb: Double
    public var layerNormEps: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings", vocabSize = "vocab_size"
        case typeVocabSize = "type_vocab_size", hiddenDropoutProb = "hidden_dropout_prob"
        case attentionProbsDropoutProb = "attention_probs_dropout_prob", layerNormEps = "layer_norm_eps"
    }

    public init(hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, intermediateSize: Int,
                maxPositionEmbeddings: Int = 512, vocabSize: Int? = nil, typeVocabSize: Int = 2,
                hiddenDropoutProb: Double = 0.1, attentionProbsDropoutProb: Double = 0.1,
                layerNormEps: Double = 1e-12) {
        self.hiddenSize = hiddenSize; self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads; self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings; self.vocabSize = vocabSize
        self.typeVocabSize = typeVocabSize; self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb; self.layerNormEps = layerNormEps
    }

    /// An HF-style `config.json` text (model_type "bert", hidden_act "gelu").
    public func hfConfigJSON(vocabSize resolved: Int) -> String {
        """
        {"model_type": "bert", "hidden_act": "gelu", "hidden_size": \(hiddenSize), \
        "num_hidden_layers": \(numHiddenLayers), "num_attention_heads": \(numAttentionHeads), \
        "intermediate_size": \(intermediateSize), "max_position_embeddings": \(maxPositionEmbeddings), \
        "vocab_size": \(vocabSize ?? resolved), "type_vocab_size": \(typeVocabSize), \
        "hidden_dropout_prob": \(hiddenDropoutProb), "attention_probs_dropout_prob": \(attentionProbsDropoutProb), \
        "layer_norm_eps": \(layerNormEps)}
        """
    }
}

/// Inline DistilBERT shape under HF `DistilBertConfig` field names.
public struct DistilBertConfigSpec: Codable, Equatable, Sendable {
    public var dim: Int
    public var nLayers: Int
    public var nHeads: Int
    public var hiddenDim: Int
    public var maxPositionEmbeddings: Int
    public var vocabSize: Int?
    public var dropout: Double
    public var attentionDropout: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dim, nLayers = "n_layers", nHeads = "n_heads", hiddenDim = "hidden_dim"
        case maxPositionEmbeddings = "max_position_embeddings", vocabSize = "vocab_size"
        case dropout, attentionDropout = "attention_dropout"
    }

    public init(dim: Int, nLayers: Int, nHeads: Int, hiddenDim: Int, maxPositionEmbeddings: Int = 512,
                vocabSize: Int? = nil, dropout: Double = 0.1, attentionDropout: Double = 0.1) {
        self.dim = dim; self.nLayers = nLayers; self.nHeads = nHeads; self.hiddenDim = hiddenDim
        self.maxPositionEmbeddings = maxPositionEmbeddings; self.vocabSize = vocabSize
        self.dropout = dropout; self.attentionDropout = attentionDropout
    }

    /// An HF-style `config.json` text (model_type "distilbert", activation "gelu").
    public func hfConfigJSON(vocabSize resolved: Int) -> String {
        """
        {"model_type": "distilbert", "activation": "gelu", "dim": \(dim), "n_layers": \(nLayers), \
        "n_heads": \(nHeads), "hidden_dim": \(hiddenDim), "max_position_embeddings": \(maxPositionEmbeddings), \
        "vocab_size": \(vocabSize ?? resolved), "dropout": \(dropout), "attention_dropout": \(attentionDropout), \
        "sinusoidal_pos_embds": false}
        """
    }
}

/// `mainnet.config`: a path to an HF `config.json` (text models) or an inline shape.
/// JSON form: a string for a path, else an object with the family's fields.
public enum ModelConfig: Codable, Equatable, Sendable {
    case path(String)
    case resnet(ResNetConfigSpec)
    case bert(BertConfigSpec)
    case distilbert(DistilBertConfigSpec)

    public init(from decoder: Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let s = try? single.decode(String.self) { self = .path(s); return }
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map { $0.stringValue }
        if keys.contains("blocks") { self = .resnet(try single.decode(ResNetConfigSpec.self)) }
        else if keys.contains("dim") { self = .distilbert(try single.decode(DistilBertConfigSpec.self)) }
        else { self = .bert(try single.decode(BertConfigSpec.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .path(let p): try c.encode(p)
        case .resnet(let r): try c.encode(r)
        case .bert(let b): try c.encode(b)
        case .distilbert(let d): try c.encode(d)
        }
    }

    /// Number of transformer layers when known from the spec alone (inline or preset).
    public var transformerLayers: Int? {
        switch self {
        case .bert(let b): return b.numHiddenLayers
        case .distilbert(let d): return d.nLayers
        case .path, .resnet: return nil
        }
    }

    static func read(_ n: YNode, family: ArchName.Family) throws -> ModelConfig {
        if case .scalar = n.node {
            guard family != .resnet else {
                throw n.error(.wrongType, "expected an inline ResNet config {blocks, width, block}, found \(n.found)")
            }
            return .path(try n.string())
        }
        switch family {
        case .resnet:
            let m = try n.mapping(allowed: ResNetConfigSpec.keys)
            return .resnet(ResNetConfigSpec(
                blocks: try m.required("blocks") { try $0.array { try $0.int() } },
                width: try m.value("width", default: 64) { try $0.int() },
                block: try m.required("block") { try $0.choice(ResNetBlockName.self) }))
        case .bert:
            let m = try n.mapping(allowed: BertConfigSpec.CodingKeys.allCases.map { $0.rawValue })
            return .bert(BertConfigSpec(
                hiddenSize: try m.required("hidden_size") { try $0.int() },
                numHiddenLayers: try m.required("num_hidden_layers") { try $0.int() },
                numAttentionHeads: try m.required("num_attention_heads") { try $0.int() },
                intermediateSize: try m.required("intermediate_size") { try $0.int() },
                maxPositionEmbeddings: try m.value("max_position_embeddings", default: 512) { try $0.int() },
                vocabSize: try m.optional("vocab_size") { try $0.int() },
                typeVocabSize: try m.value("type_vocab_size", default: 2) { try $0.int() },
                hiddenDropoutProb: try m.value("hidden_dropout_prob", default: 0.1) { try $0.double() },
                attentionProbsDropoutProb: try m.value("attention_probs_dropout_prob", default: 0.1) { try $0.double() },
                layerNormEps: try m.value("layer_norm_eps", default: 1e-12) { try $0.double() }))
        case .distilbert:
            let m = try n.mapping(allowed: DistilBertConfigSpec.CodingKeys.allCases.map { $0.rawValue })
            return .distilbert(DistilBertConfigSpec(
                dim: try m.required("dim") { try $0.int() },
                nLayers: try m.required("n_layers") { try $0.int() },
                nHeads: try m.required("n_heads") { try $0.int() },
                hiddenDim: try m.required("hidden_dim") { try $0.int() },
                maxPositionEmbeddings: try m.value("max_position_embeddings", default: 512) { try $0.int() },
                vocabSize: try m.optional("vocab_size") { try $0.int() },
                dropout: try m.value("dropout", default: 0.1) { try $0.double() },
                attentionDropout: try m.value("attention_dropout", default: 0.1) { try $0.double() }))
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

/// A classification head / SideNet body: Linear -> hidden -> BatchNorm1d -> ReLU -> Linear.
public struct HeadSpec: Codable, Equatable, Sendable {
    public var hidden: Int
    public init(hidden: Int = 32) { self.hidden = hidden }

    static func read(_ n: YNode) throws -> HeadSpec {
        let m = try n.mapping(allowed: ["hidden"])
        return HeadSpec(hidden: try m.value("hidden", default: 32) { try $0.int() })
    }
}

/// `mainnet:` section.
public struct MainNetSpec: Codable, Equatable, Sendable {
    public var arch: ArchName
    /// Explicit config; nil = the preset implied by `arch` (see `resolvedConfig`).
    public var config: ModelConfig?
    /// WordPiece vocab.txt (text models only).
    public var vocab: String?
    /// Pretrained weights (.pth / .safetensors); nil = random init.
    public var weights: String?
    /// The MainNet's replacement classification head (same architecture as a SideNet).
    public var head: HeadSpec

    public init(arch: ArchName, config: ModelConfig? = nil, vocab: String? = nil, weights: String? = nil,
                head: HeadSpec = HeadSpec()) {
        self.arch = arch; self.config = config; self.vocab = vocab; self.weights = weights; self.head = head
    }

    /// `config` if given, else the preset's (nil only for `resnet`/`bert` without config,
    /// which `validate()` rejects).
    public var resolvedConfig: ModelConfig? { config ?? arch.presetConfig }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: ["arch", "config", "vocab", "weights", "head"])
        let arch = try m.required("arch") { try $0.choice(ArchName.self) }
        if arch.family == .resnet { try m.forbid(["vocab"], because: "for a ResNet (text models only)") }
        self.init(arch: arch,
                  config: try m.optional("config") { try ModelConfig.read($0, family: arch.family) },
                  vocab: try m.optional("vocab") { try $0.string() },
                  weights: try m.optional("weights") { try $0.string() },
                  head: try m.value("head", default: HeadSpec()) { try HeadSpec.read($0) })
    }
}

/// `sidenet:` section.
public struct SideNetSpec: Codable, Equatable, Sendable {
    /// Module whose output feeds the SideNet, PyTorch names, 0-based: ResNet `layer1`..`layer4`
    /// (after a whole stage) or `layerS.B` (after block B); BERT `encoder.layer.N`; DistilBERT
    /// `transformer.layer.N`.
    public var attach: String
    /// Hidden units of the SideNet MLP.
    public var hidden: Int

    public init(attach: String, hidden: Int = 32) { self.attach = attach; self.hidden = hidden }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: ["attach", "hidden"])
        self.init(attach: try m.required("attach") { try $0.string() },
                  hidden: try m.value("hidden", default: 32) { try $0.int() })
    }
}
