import Foundation

// HF `config.json` reading shared by BERT and DistilBERT (formats.md 6.1): a JSON object whose
// fields are type-checked one by one. Missing fields take the transformers defaults; unknown
// fields are ignored (hub configs carry many); a field of the wrong JSON type is an error
// naming the file and the field.

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

    /// The encoder sizes under the family's field `names` (missing fields from `d`); the
    /// activation must be exact GELU and the heads must divide the width.
    func encoderShape(_ names: EncoderFieldNames, defaults d: TransformerShape, typeVocab: Int, eps: Float) throws -> TransformerShape {
        let shape = TransformerShape(
            hidden: try int(names.hidden, default: d.hidden, max: ConfigLimits.width),
            layers: try int(names.layers, default: d.layers, max: ConfigLimits.layers),
            heads: try int(names.heads, default: d.heads, max: ConfigLimits.heads),
            intermediate: try int(names.intermediate, default: d.intermediate, max: ConfigLimits.width * 4),
            maxPositions: try int("max_position_embeddings", default: d.maxPositions, max: ConfigLimits.positions),
            vocab: try int("vocab_size", default: d.vocab, max: ConfigLimits.vocabulary), typeVocab: typeVocab, eps: eps,
            hiddenDropout: try float(names.hiddenDropout, default: d.hiddenDropout, range: 0...0.999),
            attentionDropout: try float(names.attentionDropout, default: d.attentionDropout, range: 0...0.999))
        try requireGELU(names.activation, try string(names.activation, default: "gelu"))
        guard shape.hidden % shape.heads == 0 else {
            throw TextModelError.badConfigField(file: file, field: names.heads, expected: "a divisor of \(names.hidden) \(shape.hidden)",
                                                found: "integer \(shape.heads)")
        }
        return shape
    }
}

/// An HF config type decoded from a `config.json`, with its published configs by hub name.
public protocol HFConfigFile {
    /// Decodes an HF `config.json`. `file` names the source in error messages.
    init(json data: Data, file: String) throws
    /// Published configs by hub name ("bert-base-uncased").
    static var hubConfigs: [String: Self] { get }
    /// The hub organisation accepted before a name ("google-bert").
    static var hubOrganisation: String { get }
}

extension HFConfigFile {
    /// Defaults by hub name, with or without the organisation prefix.
    public static func named(_ name: String) throws -> Self {
        guard let c = hubConfigs[name.replacingOccurrences(of: hubOrganisation + "/", with: "")] else {
            throw TextModelError.unknownModelName(name)
        }
        return c
    }

    /// Reads and decodes a `config.json` file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TextModelError.unreadableConfig(file: url.path, reason: "\(error.localizedDescription)")
        }
        try self.init(json: data, file: url.path)
    }
}
