import Tensors
import WeightIO

/// How a published weight file (torchvision / HF hub) names a family's tensors, relative to the
/// model's own state-dict keys. Applied before the one strict loader (`loadStateDict`).
public struct WeightNaming: Sendable {
    /// Prefix hub files put before every key ("bert."), stripped when present and added on export.
    public var hubPrefix: String
    /// Old key suffixes and their current names (`LayerNorm.gamma` -> `LayerNorm.weight`).
    public var renamedSuffixes: [(old: String, new: String)]
    /// Keys that carry no weights and are dropped silently (`embeddings.position_ids`).
    public var droppedKeys: [String]
    /// Task-head prefixes skipped and reported (`fc.`, `classifier.`).
    public var ignoredPrefixes: [String]
    /// Whose names these are, recorded in exported files ("torchvision state_dict names").
    public var format: String

    public init(format: String, hubPrefix: String = "", renamedSuffixes: [(old: String, new: String)] = [],
                droppedKeys: [String] = [], ignoredPrefixes: [String] = []) {
        self.format = format; self.hubPrefix = hubPrefix; self.renamedSuffixes = renamedSuffixes
        self.droppedKeys = droppedKeys; self.ignoredPrefixes = ignoredPrefixes
    }

    /// The file's tensors under the model's names. Two file keys mapping to one name is an error.
    public func mapped<T>(_ stored: [String: T], source: String) throws -> [String: T] {
        var out: [String: T] = [:]
        var origin: [String: String] = [:]
        for key in stored.keys.sorted() {
            var k = key
            if !hubPrefix.isEmpty, k.hasPrefix(hubPrefix) { k.removeFirst(hubPrefix.count) }
            for r in renamedSuffixes where k.hasSuffix(r.old) { k = String(k.dropLast(r.old.count)) + r.new }
            if droppedKeys.contains(k) { continue }
            if let prev = origin[k] {
                throw ModelError.badInput("\(source): tensors '\(prev)' and '\(key)' both map to '\(k)'")
            }
            origin[k] = key
            out[k] = stored[key]
        }
        return out
    }

    /// Loads a published weight file into `backbone` strictly by name; the task-head keys are
    /// skipped and listed in the report.
    @discardableResult
    public func load(_ stored: [String: StoredTensor], into backbone: Module, source: String) throws -> StateDictLoadReport {
        try loadStateDict(into: backbone, stored: try mapped(stored, source: source), source: source,
                          options: StateDictLoadOptions(ignoredPrefixes: ignoredPrefixes))
    }

    /// As `load(_:into:source:)` for tensors read on demand (`WeightFile.open`).
    @discardableResult
    public func load(_ streamed: [String: StreamedTensor], into backbone: Module, source: String) throws -> StateDictLoadReport {
        try loadStateDict(into: backbone, streamed: try mapped(streamed, source: source), source: source,
                          options: StateDictLoadOptions(ignoredPrefixes: ignoredPrefixes))
    }

    /// The backbone's tensors under the published names (for exported weight files).
    public func exported(_ tensors: [String: StoredTensor]) -> [String: StoredTensor] {
        Dictionary(uniqueKeysWithValues: tensors.map { (hubPrefix + $0.key, $0.value) })
    }
}

extension WeightNaming {
    /// One line per skipped task head (`ignoredPrefixes` entry) of a load report.
    public func warnings(_ report: StateDictLoadReport, source: String) -> [String] {
        ignoredPrefixes.compactMap { p in
            let keys = report.ignoredKeys.filter { $0.hasPrefix(p) }.sorted()
            guard let first = keys.first else { return nil }
            return "\(source): ignored \(keys.count) task-head tensor(s) under \(p)* (e.g. \(first))"
        }
    }
}
