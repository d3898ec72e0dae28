// A MainNet family's configuration as plain data: the inline fields of a spec's
// `mainnet.config`, a preset, or a config.json, under the family's own field names
// (torchvision-style for ResNet/VGG, HF `config.json` names for BERT/DistilBERT).
// Specs carries it without knowing any family; the family validates it and fills defaults.

/// One field value (JSON / YAML scalars and lists).
public indirect enum ConfigValue: Equatable, Sendable, Codable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case list([ConfigValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else { self = .list(try c.decode([ConfigValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        case .list(let l): try c.encode(l)
        }
    }

    public var description: String {
        switch self {
        case .int(let i): return "integer \(i)"
        case .double(let d): return "number \(d)"
        case .string(let s): return "string \"\(s)\""
        case .bool(let b): return "boolean \(b)"
        case .list(let l): return "a list of \(l.count)"
        }
    }
}

/// A field that is missing, mistyped or out of range; `field` is the key inside the config.
public struct FamilyConfigError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable { case missing, wrongType, outOfRange, invalid, unknownField }
    public var kind: Kind
    public var field: String
    public var message: String
    public init(_ kind: Kind, field: String, _ message: String) {
        self.kind = kind; self.field = field; self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// The fields of one family config. Encodes as a JSON object (sorted keys in canonical JSON).
public struct FamilyConfig: Equatable, Sendable, Codable {
    public var fields: [String: ConfigValue]

    public init(_ fields: [String: ConfigValue]) { self.fields = fields }

    public init(from decoder: Decoder) throws {
        fields = try decoder.singleValueContainer().decode([String: ConfigValue].self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(fields)
    }

    public subscript(_ key: String) -> ConfigValue? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    /// Throws `unknownField` for a key outside `allowed` (first in sorted order).
    public func requireOnly(_ allowed: [String]) throws {
        for k in fields.keys.sorted() where !allowed.contains(k) {
            throw FamilyConfigError(.unknownField, field: k, "unknown field; allowed: \(allowed.joined(separator: ", "))")
        }
    }

    /// Integer field in `range` (`def` when absent; nil default = required).
    public func int(_ key: String, default def: Int? = nil, in range: ClosedRange<Int>) throws -> Int {
        guard let v = fields[key] else {
            if let def { return def }
            throw FamilyConfigError(.missing, field: key, "is required")
        }
        guard case .int(let i) = v else { throw FamilyConfigError(.wrongType, field: key, "expected an integer, found \(v)") }
        guard range.contains(i) else {
            throw FamilyConfigError(.outOfRange, field: key, "\(i) is out of range; allowed \(range.lowerBound)...\(range.upperBound)")
        }
        return i
    }

    /// Optional integer field in `range`.
    public func optionalInt(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        fields[key] == nil ? nil : try int(key, in: range)
    }

    /// Number field (integers accepted) with `check` describing the allowed values.
    public func double(_ key: String, default def: Double, allowed: String, _ check: (Double) -> Bool) throws -> Double {
        guard let v = fields[key] else { return def }
        let d: Double
        switch v {
        case .int(let i): d = Double(i)
        case .double(let x): d = x
        default: throw FamilyConfigError(.wrongType, field: key, "expected a number, found \(v)")
        }
        guard d.isFinite, check(d) else { throw FamilyConfigError(.outOfRange, field: key, "\(d) is out of range; allowed \(allowed)") }
        return d
    }

    /// A probability field (dropout): 0 <= p < 1.
    public func probability(_ key: String, default def: Double) throws -> Double {
        try double(key, default: def, allowed: "0 <= x < 1") { $0 >= 0 && $0 < 1 }
    }

    /// String field among `choices`.
    public func choice(_ key: String, default def: String? = nil, _ choices: [String]) throws -> String {
        guard let v = fields[key] else {
            if let def { return def }
            throw FamilyConfigError(.missing, field: key, "is required")
        }
        guard case .string(let s) = v, choices.contains(s) else {
            throw FamilyConfigError(.outOfRange, field: key, "found \(v); allowed: \(choices.joined(separator: ", "))")
        }
        return s
    }

    /// Boolean field.
    public func bool(_ key: String, default def: Bool) throws -> Bool {
        guard let v = fields[key] else { return def }
        guard case .bool(let b) = v else { throw FamilyConfigError(.wrongType, field: key, "expected true or false, found \(v)") }
        return b
    }

    /// List of integers, each in `range`.
    public func ints(_ key: String, count: ClosedRange<Int>, each range: ClosedRange<Int>) throws -> [Int] {
        guard let v = fields[key] else { throw FamilyConfigError(.missing, field: key, "is required") }
        guard case .list(let l) = v else { throw FamilyConfigError(.wrongType, field: key, "expected a list, found \(v)") }
        guard count.contains(l.count) else {
            throw FamilyConfigError(.outOfRange, field: key, "needs \(count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound)...\(count.upperBound)") values, found \(l.count)")
        }
        return try l.enumerated().map { i, e in
            guard case .int(let x) = e else { throw FamilyConfigError(.wrongType, field: "\(key)[\(i)]", "expected an integer, found \(e)") }
            guard range.contains(x) else {
                throw FamilyConfigError(.outOfRange, field: "\(key)[\(i)]", "\(x) is out of range; allowed \(range.lowerBound)...\(range.upperBound)")
            }
            return x
        }
    }
}
