import Tensors
import WeightIO

// Strict state-dict loading by name (never by position), shared by every model.
// Every name and shape check runs before any tensor is read: a file that does not fit leaves the
// model untouched. Values are then read one tensor at a time straight into the parameters'
// storage (no second copy of the weights); a read failing midway (an I/O error) leaves the model
// partly loaded, and the error, naming the file and tensor, is for the caller to give up on it.

/// What a successful load skipped, for the caller to show (nothing here prints).
public struct StateDictLoadReport: Equatable, Sendable {
    /// File keys deliberately not loaded (e.g. torchvision's `fc.*`), sorted.
    public var ignoredKeys: [String] = []
    /// Model buffers the file did not provide and that were reset (`*.num_batches_tracked` -> 0).
    public var defaultedKeys: [String] = []

    public init(ignoredKeys: [String] = [], defaultedKeys: [String] = []) {
        self.ignoredKeys = ignoredKeys
        self.defaultedKeys = defaultedKeys
    }

    /// A one-line warning naming the ignored keys, or nil when none were ignored.
    public var warning: String? {
        ignoredKeys.isEmpty ? nil : "ignored \(ignoredKeys.count) key(s) not used by this model: \(ignoredKeys.joined(separator: ", "))"
    }
}

/// A tensor in a file whose values are read only once its name and shape were accepted, straight
/// into the parameter's storage (`read` fills a buffer of exactly the shape's element count).
public struct StateDictEntry {
    public var shape: [Int]
    public var read: (UnsafeMutableBufferPointer<Float>) throws -> Void

    public init(shape: [Int], read: @escaping (UnsafeMutableBufferPointer<Float>) throws -> Void) {
        self.shape = shape
        self.read = read
    }
    /// An entry whose values come as one array (its count is checked against the shape).
    public init(shape: [Int], values: @escaping () throws -> [Float]) {
        self.init(shape: shape, read: { out in
            let v = try values()
            guard v.count == out.count else { throw StateDictEntryError.countMismatch(expected: out.count, got: v.count) }
            v.withUnsafeBufferPointer { src in if let b = src.baseAddress, !src.isEmpty { out.baseAddress!.update(from: b, count: src.count) } }
        })
    }
    public init(_ t: Tensor) { self.init(shape: t.shape, values: { t.data }) }
    public init(_ s: StoredTensor) { self.init(shape: s.shape, read: { try s.read(into: $0) }) }
    public init(_ s: StreamedTensor) { self.init(shape: s.shape, read: { try s.read(into: $0) }) }
}

/// A `StateDictEntry(shape:values:)` whose values do not fill its shape.
public enum StateDictEntryError: Error, CustomStringConvertible {
    case countMismatch(expected: Int, got: Int)
    public var description: String {
        switch self {
        case let .countMismatch(e, g): return "\(g) values for \(e) elements"
        }
    }
}

/// Rules for one load.
public struct StateDictLoadOptions: Sendable {
    /// File keys with one of these prefixes are skipped and reported (e.g. ["fc."]).
    public var ignoredPrefixes: [String]
    /// Name of the module inside the file: the model's key `k` is read from `filePrefix + k`
    /// (e.g. "head." to read an `MLPHead` out of a full checkpoint). File keys without it are
    /// unexpected unless ignored.
    public var filePrefix: String

    public init(ignoredPrefixes: [String] = [], filePrefix: String = "") {
        self.ignoredPrefixes = ignoredPrefixes
        self.filePrefix = filePrefix
    }
}

/// `num_batches_tracked` counters may be missing from a file (treated as 0) and may be present
/// even when the model does not keep the counter (ignored, they carry no weights).
@inline(__always)
func isBatchCounter(_ key: String) -> Bool { key.hasSuffix(".num_batches_tracked") || key == "num_batches_tracked" }

/// Loads `entries` into `module` strictly by name: a missing, unexpected or mis-shaped tensor
/// throws `ModelError` naming the key and both shapes. `source` names the file in messages.
@discardableResult
public func loadStateDict(into module: Module, entries: [String: StateDictEntry], source: String,
                          options: StateDictLoadOptions = .init()) throws -> StateDictLoadReport {
    // (key, shape, fill the tensor's storage in place)
    typealias Fill = ((UnsafeMutableBufferPointer<Float>) throws -> Void) throws -> Void
    var targets: [(String, [Int], Fill)] = []
    for (k, p) in module.namedParameters() {
        targets.append((k, p.value.shape, { body in try p.value.data.withUnsafeMutableBufferPointer { try body($0) } }))
    }
    for (k, b) in module.namedBuffers() {
        targets.append((k, b.value.shape, { body in try b.value.data.withUnsafeMutableBufferPointer { try body($0) } }))
    }
    let modelKeys = Set(targets.map { $0.0 })

    var report = StateDictLoadReport()
    // 1. every model tensor present with the right shape (model order: first problem first)
    var assignments: [(String, [Int], StateDictEntry, Fill)] = []
    for (k, shape, set) in targets {
        guard let e = entries[options.filePrefix + k] else {
            if isBatchCounter(k) {
                report.defaultedKeys.append(k)
                assignments.append((k, shape, StateDictEntry(shape: shape, read: { $0.update(repeating: 0) }), set))
                continue
            }
            throw ModelError.missingKey(options.filePrefix + k, expectedShape: shape, source: source)
        }
        // PyTorch stores the counter as a 0-d tensor; accept [] vs [1] for it.
        let same = e.shape == shape || (isBatchCounter(k) && Tensor.elementCount(e.shape) == 1 && Tensor.elementCount(shape) == 1)
        guard same else {
            throw ModelError.shapeMismatch(options.filePrefix + k, expected: shape, got: e.shape, source: source)
        }
        assignments.append((k, shape, e, set))
    }
    // 2. no file key the model does not know (sorted for a stable first error)
    for fileKey in entries.keys.sorted() {
        if options.ignoredPrefixes.contains(where: { fileKey.hasPrefix($0) }) {
            report.ignoredKeys.append(fileKey)
            continue
        }
        guard fileKey.hasPrefix(options.filePrefix) else {
            throw ModelError.unexpectedKey(fileKey, shape: entries[fileKey]!.shape, source: source)
        }
        let k = String(fileKey.dropFirst(options.filePrefix.count))
        if modelKeys.contains(k) { continue }
        if isBatchCounter(k) {
            // a counter for a norm layer the model has (its running_mean exists) carries nothing
            let owner = String(k.dropLast("num_batches_tracked".count))
            if modelKeys.contains(owner + "running_mean") { continue }
        }
        throw ModelError.unexpectedKey(fileKey, shape: entries[fileKey]!.shape, source: source)
    }
    // 3. read each tensor straight into its parameter or buffer
    for (k, _, e, fill) in assignments {
        do { try fill(e.read) } catch {
            throw ModelError.unreadableTensor(options.filePrefix + k, reason: "\(error)", source: source)
        }
    }
    return report
}

/// Convenience: load from name -> Tensor (e.g. `SafeTensors.load`).
@discardableResult
public func loadStateDict(into module: Module, tensors: [String: Tensor], source: String,
                          options: StateDictLoadOptions = .init()) throws -> StateDictLoadReport {
    try loadStateDict(into: module, entries: tensors.mapValues { StateDictEntry($0) }, source: source, options: options)
}

/// Convenience: load from name -> StreamedTensor (`WeightFile.open`: safetensors streamed from disk).
@discardableResult
public func loadStateDict(into module: Module, streamed: [String: StreamedTensor], source: String,
                          options: StateDictLoadOptions = .init()) throws -> StateDictLoadReport {
    try loadStateDict(into: module, entries: streamed.mapValues { StateDictEntry($0) }, source: source, options: options)
}

/// Convenience: load from name -> StoredTensor (e.g. `WeightFile.load` of a `.pth`).
@discardableResult
public func loadStateDict(into module: Module, stored: [String: StoredTensor], source: String,
                          options: StateDictLoadOptions = .init()) throws -> StateDictLoadReport {
    try loadStateDict(into: module, entries: stored.mapValues { StateDictEntry($0) }, source: source, options: options)
}
