import Foundation
import Yams

/// A run variant: the MainNet trained with a SideNet, or alone (paper Table 2).
public enum Variant: String, Codable, CaseIterable, Sendable {
    case sidenet, baseline
}

/// A declarative experiment (one YAML file under experiments/). Fields: README.md, "Experiment specs".
///
/// Load with `ExperimentSpec.load(url)` (strict: unknown keys, wrong types and out-of-range
/// values are errors naming file, line and key path); defaults are filled in at load time, so
/// `canonicalJSON()` is the complete, explicit spec.
public struct ExperimentSpec: Codable, Equatable, Sendable {
    /// Identifier used in the store, file names and reports: [A-Za-z0-9][A-Za-z0-9._-]*.
    public var name: String
    public var description: String
    /// One run per (variant, seed); the seed drives initialization, shuffling and dropout.
    public var seeds: [Int]
    public var variants: [Variant]
    public var data: DataSpec
    public var mainnet: MainNetSpec
    public var sidenet: SideNetSpec
    public var training: TrainingSpec
    public var evaluation: EvaluationSpec
    public var paper: PaperSpec?

    static let topKeys = ["name", "description", "seeds", "variants", "data", "mainnet", "sidenet",
                          "training", "evaluation", "paper"]

    public init(name: String, description: String = "", seeds: [Int], variants: [Variant],
                data: DataSpec, mainnet: MainNetSpec, sidenet: SideNetSpec, training: TrainingSpec,
                evaluation: EvaluationSpec = EvaluationSpec(), paper: PaperSpec? = nil) {
        self.name = name; self.description = description; self.seeds = seeds; self.variants = variants
        self.data = data; self.mainnet = mainnet; self.sidenet = sidenet; self.training = training
        self.evaluation = evaluation; self.paper = paper
    }

    // MARK: loading

    /// Reads, decodes strictly and validates a spec file.
    public static func load(_ url: URL) throws -> ExperimentSpec {
        return try parse(yaml: try readSpecText(url), file: url.path)
    }

    /// Decodes strictly and validates YAML text; `file` names the source in errors.
    public static func parse(yaml: String, file: String = "") throws -> ExperimentSpec {
        let root: Node
        do {
            guard let r = try Yams.compose(yaml: yaml) else {
                throw SpecError(.syntax, file: file, keyPath: "", "empty document")
            }
            root = r
        } catch let e as SpecError {
            throw e
        } catch {
            throw SpecError(.syntax, file: file, keyPath: "", "invalid YAML: \(yamlErrorSummary(error))")
        }
        let spec = try ExperimentSpec(YNode(node: root, path: "", file: file))
        do {
            try spec.validate()
        } catch var e as SpecError {
            e.file = file
            e.line = lineOf(keyPath: e.keyPath, in: root)
            throw e
        }
        return spec
    }

    /// All `*.yaml` / `*.yml` files of a directory, sorted by file name, loaded and validated.
    public static func loadDirectory(_ dir: URL) throws -> [(url: URL, spec: ExperimentSpec)] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir.path) } catch {
            throw SpecError(.unreadable, file: dir.path, keyPath: "", "cannot list directory: \(error.localizedDescription)")
        }
        return try names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { n in
            let u = dir.appendingPathComponent(n)
            return (u, try load(u))
        }
    }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: ExperimentSpec.topKeys)
        self.init(name: try m.required("name") { try $0.string() },
                  description: try m.value("description", default: "") { try $0.string() },
                  seeds: try m.required("seeds") { try $0.array { try $0.int() } },
                  variants: try m.required("variants") { try $0.array { try $0.choice(Variant.self) } },
                  data: try m.required("data") { try DataSpec($0) },
                  mainnet: try m.required("mainnet") { try MainNetSpec($0) },
                  sidenet: try m.required("sidenet") { try SideNetSpec($0) },
                  training: try m.required("training") { try TrainingSpec($0) },
                  evaluation: try m.value("evaluation", default: EvaluationSpec()) { try EvaluationSpec($0) },
                  paper: try m.optional("paper") { try PaperSpec($0) })
    }

    // MARK: canonical form and hash

    /// The complete spec as JSON with sorted keys, no whitespace, absent optionals omitted and
    /// numbers in Swift's shortest round-trip form (`0.0003`, `3e-06`). Stored in the database;
    /// `ExperimentSpec.fromJSON` reads it back exactly.
    public func canonicalJSON() -> String {
        ExperimentSpec.encodeCanonical(self)
    }

    /// Decodes a `canonicalJSON()` string (no validation, no strictness: trusted input).
    public static func fromJSON(_ json: String) throws -> ExperimentSpec {
        try JSONDecoder().decode(ExperimentSpec.self, from: Data(json.utf8))
    }

    /// The part of the spec that determines results: data, mainnet (with the config resolved
    /// from the preset), sidenet and training. Not hashed: name (stored beside the hash),
    /// description, seeds and variants (each run is keyed by its own seed and variant),
    /// evaluation (ECE binning and eval batch size only affect reports) and paper.
    struct HashedPart: Encodable {
        let hashVersion = 1
        let data: DataSpec
        let mainnet: MainNetSpec
        let resolvedConfig: ModelConfig?
        let sidenet: SideNetSpec
        let training: TrainingSpec
        enum CodingKeys: String, CodingKey {
            case hashVersion = "hash_version", data, mainnet, resolvedConfig = "resolved_config", sidenet, training
        }
    }

    /// Canonical JSON of the result-determining fields (see `HashedPart`).
    public func hashedJSON() -> String {
        ExperimentSpec.encodeCanonical(HashedPart(data: data, mainnet: mainnet, resolvedConfig: mainnet.resolvedConfig,
                                                  sidenet: sidenet, training: training))
    }

    /// Lower-case hex SHA-256 (64 characters) of `hashedJSON()` in UTF-8. Changes whenever a
    /// field that affects training or evaluation outputs changes.
    public var specHash: String { SpecsSHA256.hex(Array(hashedJSON().utf8)) }

    static func encodeCanonical<T: Encodable>(_ value: T) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Specs hold only finite numbers and strings: encoding cannot fail.
        let data = try! enc.encode(value)
        return String(decoding: data, as: UTF8.self)
    }
}
