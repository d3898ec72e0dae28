import Foundation

// HF `config.json` decoding for BERT and DistilBERT (formats.md 6.1).
// Missing fields take the transformers defaults (= bert-base-uncased / distilbert-base-uncased);
// unknown fields are ignored (hub configs carry many); a field of the wrong JSON type is an
// error naming the field.

/// Errors of the text models: configs, weight loading, shapes.
public enum TextModelError: Error, CustomStringConvertible, Equatable {
    /// A config field has the wrong JSON type or an unsupported value.
    case badConfigField(file: String, field: String, expected: String, found: String)
    /// The config file could not be read or is not a JSON object.
    case unreadableConfig(file: String, reason: String)
    /// Unknown pretrained name for `named(_:)`.
    case unknownModelName(String)
    /// A tensor the model needs is absent from the weight file.
    case missingTensor(key: String, expectedShape: [Int], source: String)
    /// A tensor in the weight file has no place in the model.
    case unexpectedTensor(key: String, shape: [Int], source: String)
    /// A tensor's shape differs from the model's parameter.
    case shapeMismatch(key: String, expected: [Int], found: [Int], source: String)
    /// Bad arguments to a forward call (layer index, batch shape, token id).
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .badConfigField(file, field, expected, found):
            return "\(file): field \"\(field)\": expected \(expected), found \(found)"
        case let .unreadableConfig(file, reason):
            return "\(file): cannot read config: \(reason)"
        case let .unknownModelName(name):
            return "unknown model name \"\(name)\" (known: bert-base-uncased, bert-large-uncased, distilbert-base-uncased)"
        case let .missingTensor(key, shape, source):
            return "\(source): missing tensor \"\(key)\" (model expects shape \(shape))"
        case let .unexpectedTensor(key, shape, source):
            return "\(source): unexpected tensor \"\(key)\" with shape \(shape) (no such parameter in the model)"
        case let .shapeMismatch(key, expected, found, source):
            return "\(source): tensor \"\(key)\" has shape \(found), model expects \(expected)"
        case let .invalidInput(msg):
            return "invalid input: \(msg)"
        }
    }
}

/// A parsed JSON value (enough of JSON to type-check config fields).
enum ConfigJSON: Decodable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([ConfigJSON]), object([String: ConfigJSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int.self) { self = .int(i); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([ConfigJSON].self) { self = .array(a); return }
        self = .object(try c.decode([String: ConfigJSON].self))
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return "boolean \(b)"
        case let .int(i): return "integer \(i)"
        case let .double(d): return "number \(d)"
        case let .string(s): return "string \"\(s)\""
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// Upper bounds of config.json sizes: far above any published BERT (BERT-large: 1024 wide,
/// 24 layers, 16 heads, 512 positions, 30,522 words), low enough that every parameter and FLOP
/// count of the largest allowed model at its longest sequence fits in an Int (< 2^62).
enum ConfigLimits {
    static let width = 32_768, layers = 512, heads = 1_024, positions = 65_536
    static let vocabulary = 16_777_216, tokenTypes = 1_024
}

/// Typed access to the fields of one config object, with errors naming the file and field.
struct ConfigFields {
    let file: String
    let fields: [String: ConfigJSON]

    init(data: Data, file: String) throws {
        self.file = file
        let value: ConfigJSON
        do { value = try JSONDecoder().decode(ConfigJSON.self, from: data) } catch {
            throw TextModelError.unreadableConfig(file: file, reason: "not valid JSON (\(error))")
        }
        guard case let .object(obj) = value else {
            throw TextModelError.unreadableConfig(file: file, reason: "top level is \(value.typeName), expected an object")
        }
        fields = obj
    }

    /// A positive integer field, at most `max` (sizes beyond the largest published models would
    /// only overflow parameter and FLOP counts, or allocations, further on).
    func int(_ name: String, default def: Int, max: Int) throws -> Int {
        guard let v = fields[name] else { return def }
        guard case let .int(i) = v else {
            throw TextModelError.badConfigField(file: file, field: name, expected: "an integer", found: v.typeName)
        }
        guard i > 0, i <= max else {
            throw TextModelError.badConfigField(file: file, field: name, expected: "an integer in 1...\(max)",
                                                found: "integer \(i)")
        }
        return i
    }

    func float(_ name: String, default def: Float, range: ClosedRange<Double>) throws -> Float {
        guard let v = fields[name] else { return def }
        let d: Double
        switch v {
        case let .int(i): d = Double(i)
        case let .double(x): d = x
        default:
            throw TextModelError.badConfigField(file: file, field: name, expected: "a number", found: v.typeName)
        }
        guard range.contains(d) else {
            throw TextModelError.badConfigField(file: file, field: name, expected: "a number in \(range)", found: v.typeName)
        }
        return Float(d)
    }

    func string(_ name: String, default def: String) throws -> String {
        guard let v = fields[name] else { return def }
        guard case let .string(s) = v else {
            throw TextModelError.badConfigField(file: file, field: name, expected: "a string", found: v.typeName)
        }
        return s
    }

    func bool(_ name: String, default def: Bool) throws -> Bool {
        guard let v = fields[name] else { return def }
        guard case let .bool(b) = v else {
            throw TextModelError.badConfigField(file: file, field: name, expected: "a boolean", found: v.typeName)
        }
        return b
    }

    func requireModelType(_ accepted: [String]) throws {
        let t = try string("model_type", default: accepted[0])
        guard accepted.contains(t) else {
            throw TextModelError.badConfigField(file: file, field: "model_type",
                                                expected: accepted.map { "\"\($0)\"" }.joined(separator: " or "),
                                                found: "string \"\(t)\"")
        }
    }

    func requireGELU(_ name: String, _ act: String) throws {
        guard act == "gelu" else {
            throw TextModelError.badConfigField(file: file, field: name,
                                                expected: "\"gelu\" (exact erf GELU; tanh variants are not supported)",
                                                found: "string \"\(act)\"")
        }
    }
}

/// BERT hyper-parameters under HF `BertConfig` field names (formats.md 6.1).
public struct BertConfig: Equatable, Sendable {
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

    /// bert-base-uncased: 12 layers, 768 hidden, 12 heads, 3072 FFN.
    public static let baseUncased = BertConfig()
    /// bert-large-uncased: 24 layers, 1024 hidden, 16 heads, 4096 FFN.
    public static let largeUncased = BertConfig(hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16,
                                                intermediateSize: 4096)

    /// Defaults by hub name ("bert-base-uncased", "bert-large-uncased"; a "google-bert/" prefix is accepted).
    public static func named(_ name: String) throws -> BertConfig {
        switch name.replacingOccurrences(of: "google-bert/", with: "") {
        case "bert-base-uncased": return .baseUncased
        case "bert-large-uncased": return .largeUncased
        default: throw TextModelError.unknownModelName(name)
        }
    }

    /// Decodes an HF `config.json`. `file` names the source in error messages.
    public init(json data: Data, file: String = "config.json") throws {
        let f = try ConfigFields(data: data, file: file)
        try f.requireModelType(["bert"])
        let d = BertConfig.baseUncased
        self.init(hiddenSize: try f.int("hidden_size", default: d.hiddenSize, max: ConfigLimits.width),
                  numHiddenLayers: try f.int("num_hidden_layers", default: d.numHiddenLayers, max: ConfigLimits.layers),
                  numAttentionHeads: try f.int("num_attention_heads", default: d.numAttentionHeads, max: ConfigLimits.heads),
                  intermediateSize: try f.int("intermediate_size", default: d.intermediateSize, max: ConfigLimits.width * 4),
                  maxPositionEmbeddings: try f.int("max_position_embeddings", default: d.maxPositionEmbeddings, max: ConfigLimits.positions),
                  vocabSize: try f.int("vocab_size", default: d.vocabSize, max: ConfigLimits.vocabulary),
                  typeVocabSize: try f.int("type_vocab_size", default: d.typeVocabSize, max: ConfigLimits.tokenTypes),
                  layerNormEps: try f.float("layer_norm_eps", default: d.layerNormEps, range: 0...1),
                  hiddenAct: try f.string("hidden_act", default: d.hiddenAct),
                  hiddenDropoutProb: try f.float("hidden_dropout_prob", default: d.hiddenDropoutProb, range: 0...0.999),
                  attentionProbsDropoutProb: try f.float("attention_probs_dropout_prob",
                                                         default: d.attentionProbsDropoutProb, range: 0...0.999))
        try f.requireGELU("hidden_act", hiddenAct)
        guard hiddenSize % numAttentionHeads == 0 else {
            throw TextModelError.badConfigField(file: file, field: "num_attention_heads",
                                                expected: "a divisor of hidden_size \(hiddenSize)",
                                                found: "integer \(numAttentionHeads)")
        }
    }

    /// Reads and decodes a `config.json` file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TextModelError.unreadableConfig(file: url.path, reason: "\(error.localizedDescription)")
        }
        try self.init(json: data, file: url.path)
    }

    /// The architecture numbers shared by both encoders.
    public var encoderShape: TransformerShape {
        TransformerShape(hidden: hiddenSize, layers: numHiddenLayers, heads: numAttentionHeads,
                         intermediate: intermediateSize, maxPositions: maxPositionEmbeddings,
                         vocab: vocabSize, typeVocab: typeVocabSize, eps: layerNormEps,
                         hiddenDropout: hiddenDropoutProb, attentionDropout: attentionProbsDropoutProb)
    }
}

/// DistilBERT hyper-parameters under HF `DistilBertConfig` field names (formats.md 6.1).
public struct DistilBertConfig: Equatable, Sendable {
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

    /// distilbert-base-uncased: 6 layers, 768 dim, 12 heads, 3072 FFN.
    public static let baseUncased = DistilBertConfig()

    /// Defaults by hub name ("distilbert-base-uncased"; a "distilbert/" prefix is accepted).
    public static func named(_ name: String) throws -> DistilBertConfig {
        switch name.replacingOccurrences(of: "distilbert/", with: "") {
        case "distilbert-base-uncased": return .baseUncased
        default: throw TextModelError.unknownModelName(name)
        }
    }

    /// Decodes an HF `config.json`. `file` names the source in error messages.
    public init(json data: Data, file: String = "config.json") throws {
        let f = try ConfigFields(data: data, file: file)
        try f.requireModelType(["distilbert"])
        let d = DistilBertConfig.baseUncased
        self.init(dim: try f.int("dim", default: d.dim, max: ConfigLimits.width),
                  nLayers: try f.int("n_layers", default: d.nLayers, max: ConfigLimits.layers),
                  nHeads: try f.int("n_heads", default: d.nHeads, max: ConfigLimits.heads),
                  hiddenDim: try f.int("hidden_dim", default: d.hiddenDim, max: ConfigLimits.width * 4),
                  maxPositionEmbeddings: try f.int("max_position_embeddings", default: d.maxPositionEmbeddings, max: ConfigLimits.positions),
                  vocabSize: try f.int("vocab_size", default: d.vocabSize, max: ConfigLimits.vocabulary),
                  dropout: try f.float("dropout", default: d.dropout, range: 0...0.999),
                  attentionDropout: try f.float("attention_dropout", default: d.attentionDropout, range: 0...0.999),
                  activation: try f.string("activation", default: d.activation))
        try f.requireGELU("activation", activation)
        if try f.bool("sinusoidal_pos_embds", default: false) {
            throw TextModelError.badConfigField(file: file, field: "sinusoidal_pos_embds", expected: "false (learned positions)",
                                                found: "boolean true")
        }
        guard dim % nHeads == 0 else {
            throw TextModelError.badConfigField(file: file, field: "n_heads", expected: "a divisor of dim \(dim)",
                                                found: "integer \(nHeads)")
        }
    }

    /// Reads and decodes a `config.json` file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TextModelError.unreadableConfig(file: url.path, reason: "\(error.localizedDescription)")
        }
        try self.init(json: data, file: url.path)
    }

    /// The architecture numbers shared by both encoders.
    public var encoderShape: TransformerShape {
        TransformerShape(hidden: dim, layers: nLayers, heads: nHeads, intermediate: hiddenDim,
                         maxPositions: maxPositionEmbeddings, vocab: vocabSize, typeVocab: 0, eps: layerNormEps,
                         hiddenDropout: dropout, attentionDropout: attentionDropout)
    }
}

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
