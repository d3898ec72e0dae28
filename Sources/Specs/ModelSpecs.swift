import Models

// The `mainnet:` and `sidenet:` sections. Which architectures exist, what their configs hold and
// where a SideNet can attach is not written here: the Models registry (`MainNetRegistry`) answers.

/// A MainNet architecture name: a preset (resnet18, bert-base, ...) or a family name (resnet,
/// bert, distilbert, ...) with an explicit config. Only names the registry knows can be built.
public struct ArchName: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public let family: any MainNetFamily

    public init?(rawValue: String) {
        guard let f = MainNetRegistry.family(forArch: rawValue) else { return nil }
        self.rawValue = rawValue
        family = f
    }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let a = ArchName(rawValue: s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "unknown architecture '\(s)' (known: \(MainNetRegistry.archNames.joined(separator: ", ")))"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static func == (a: ArchName, b: ArchName) -> Bool { a.rawValue == b.rawValue }
    public func hash(into h: inout Hasher) { h.combine(rawValue) }
    public var description: String { rawValue }

    /// The configuration a preset name implies (nil for a family name such as `resnet`).
    public var presetConfig: ModelConfig? { family.presetConfig(rawValue).map { .inline($0) } }

    static func read(_ n: YNode) throws -> ArchName {
        let s = try n.string()
        guard let a = ArchName(rawValue: s) else {
            throw n.error(.outOfRange, "'\(s)' is not allowed; allowed: \(MainNetRegistry.archNames.joined(separator: ", "))")
        }
        return a
    }
}

/// `mainnet.config`: a path to a config.json (families that read one) or inline fields, which
/// the family validated and completed with its defaults.
public enum ModelConfig: Codable, Equatable, Sendable {
    case path(String)
    case inline(FamilyConfig)

    public init(from decoder: Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let s = try? single.decode(String.self) { self = .path(s); return }
        self = .inline(try single.decode(FamilyConfig.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .path(let p): try c.encode(p)
        case .inline(let f): try c.encode(f)
        }
    }

    static func read(_ n: YNode, family: any MainNetFamily) throws -> ModelConfig {
        if case .scalar = n.node {
            guard family.readsConfigFiles else {
                throw n.error(.wrongType, "expected an inline \(family.name) config \(family.configHint), found \(n.found)")
            }
            return .path(try n.string())
        }
        guard case .mapping(let m) = n.node else {
            throw n.error(.wrongType, "expected \(family.configHint), found \(n.found)")
        }
        var fields: [String: ConfigValue] = [:]
        for (k, v) in m {
            guard case .scalar(let ks) = k, tagName(k) == .str else {
                throw n.error(.wrongType, "mapping keys must be strings")
            }
            fields[ks.string] = try configValue(n.child(ks.string, v))
        }
        do {
            return .inline(try family.canonicalConfig(FamilyConfig(fields)))
        } catch let e as FamilyConfigError {
            var err = e.specError(under: n.path)
            err.file = n.file
            err.line = lineOf(keyPath: e.field, in: n.node) ?? n.line
            throw err
        }
    }

    /// A YAML scalar or list as a config value (mappings are not config values).
    static func configValue(_ n: YNode) throws -> ConfigValue {
        switch n.node {
        case .sequence(let seq):
            return .list(try seq.enumerated().map { i, e in try configValue(YNode(node: e, path: "\(n.path)[\(i)]", file: n.file)) })
        case .scalar(let s):
            switch tagName(n.node) {
            case .int: if let i = n.node.int { return .int(i) }
            case .float: if let d = n.node.float { return .double(d) }
            case .bool: if let b = n.node.bool { return .bool(b) }
            case .str: return .string(s.string)
            default: break
            }
            throw n.error(.wrongType, "expected a number, string, boolean or list, found \(n.found)")
        default:
            throw n.error(.wrongType, "expected a number, string, boolean or list, found \(n.found)")
        }
    }
}

extension FamilyConfigError {
    /// The spec error at `mainnet.config.<field>`.
    func specError(under path: String) -> SpecError {
        let kind: SpecError.Kind
        switch self.kind {
        case .missing: kind = .missingKey
        case .wrongType: kind = .wrongType
        case .outOfRange: kind = .outOfRange
        case .invalid: kind = .invalid
        case .unknownField: kind = .unknownKey
        }
        return SpecError(kind, keyPath: "\(path).\(field)", message)
    }
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
        let arch = try m.required("arch") { try ArchName.read($0) }
        if arch.family.inputKind != .text { try m.forbid(["vocab"], because: "for a \(arch.family.name) MainNet (text models only)") }
        self.init(arch: arch,
                  config: try m.optional("config") { try ModelConfig.read($0, family: arch.family) },
                  vocab: try m.optional("vocab") { try $0.string() },
                  weights: try m.optional("weights") { try $0.string() },
                  head: try m.value("head", default: HeadSpec()) { try HeadSpec.read($0) })
    }
}

/// `sidenet:` section.
public struct SideNetSpec: Codable, Equatable, Sendable {
    /// Module whose output feeds the SideNet, in the family's grammar (PyTorch module names,
    /// 0-based; see each family's `attachUnit`).
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
