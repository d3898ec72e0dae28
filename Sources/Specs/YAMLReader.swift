import Foundation
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// Strict, path-tracking access to a composed Yams node tree. Every read checks the YAML type
/// (resolved tag) and every mapping is checked against its allowed keys, so an unknown key, a
/// wrong type or a missing key becomes a `SpecError` naming the key path and line.
struct YNode {
    let node: Node
    /// Key path of this node ("" for the root).
    let path: String
    let file: String

    var line: Int? { node.mark.map { $0.line } }

    func error(_ kind: SpecError.Kind, _ message: String) -> SpecError {
        SpecError(kind, file: file, line: line, keyPath: path, message)
    }

    func child(_ key: String, _ node: Node) -> YNode {
        YNode(node: node, path: path.isEmpty ? key : path + "." + key, file: file)
    }

    /// A short rendering of the node for messages.
    var found: String {
        switch node {
        case .scalar(let s):
            switch tagName(node) {
            case .null: return "null"
            case .str: return "string \"\(s.string)\""
            case .int: return "integer \(s.string)"
            case .float: return "number \(s.string)"
            case .bool: return "boolean \(s.string)"
            default: return "\(s.string)"
            }
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    var isNull: Bool {
        if case .scalar = node { return tagName(node) == .null }
        return false
    }

    func mapping(allowed: [String]) throws -> YMap {
        guard case .mapping(let m) = node else {
            throw error(.wrongType, "expected a mapping with keys \(allowed.joined(separator: ", ")), found \(found)")
        }
        var entries: [String: YNode] = [:]
        for (k, v) in m {
            guard case .scalar(let ks) = k, tagName(k) == .str else {
                throw YNode(node: k, path: path, file: file)
                    .error(.wrongType, "mapping keys must be strings, found \(YNode(node: k, path: path, file: file).found)")
            }
            let key = ks.string
            let c = child(key, v)
            guard allowed.contains(key) else {
                throw YNode(node: k, path: c.path, file: file).error(.unknownKey,
                    "unknown key '\(key)'; allowed keys here: \(allowed.joined(separator: ", "))")
            }
            if case .alias = v { throw c.error(.syntax, "YAML aliases are not supported in specs") }
            entries[key] = c
        }
        return YMap(owner: self, entries: entries, allowed: allowed)
    }

    func int() throws -> Int {
        guard case .scalar = node, tagName(node) == .int, let i = node.int else {
            throw error(.wrongType, "expected an integer, found \(found)")
        }
        return i
    }

    func double() throws -> Double {
        guard case .scalar = node else { throw error(.wrongType, "expected a number, found \(found)") }
        let d: Double?
        switch tagName(node) {
        case .int: d = node.int.map(Double.init)
        case .float: d = node.float
        default: d = nil
        }
        guard let d else { throw error(.wrongType, "expected a number, found \(found)") }
        guard d.isFinite else { throw error(.outOfRange, "expected a finite number, found \(found)") }
        return d
    }

    func string() throws -> String {
        guard case .scalar(let s) = node, tagName(node) == .str else {
            throw error(.wrongType, "expected a string, found \(found)")
        }
        return s.string
    }

    func bool() throws -> Bool {
        guard case .scalar = node, tagName(node) == .bool, let b = node.bool else {
            throw error(.wrongType, "expected true or false, found \(found)")
        }
        return b
    }

    func choice<E: RawRepresentable & CaseIterable>(_ type: E.Type) throws -> E where E.RawValue == String {
        let allowed = E.allCases.map { $0.rawValue }.joined(separator: ", ")
        guard case .scalar(let s) = node, tagName(node) == .str else {
            throw error(.wrongType, "expected one of \(allowed), found \(found)")
        }
        guard let e = E(rawValue: s.string) else {
            throw error(.outOfRange, "'\(s.string)' is not allowed; allowed: \(allowed)")
        }
        return e
    }

    func array<T>(_ each: (YNode) throws -> T) throws -> [T] {
        guard case .sequence(let seq) = node else { throw error(.wrongType, "expected a list, found \(found)") }
        return try seq.enumerated().map { i, n in
            try each(YNode(node: n, path: "\(path)[\(i)]", file: file))
        }
    }
}

/// A mapping whose keys have been checked against an allowed list.
struct YMap {
    let owner: YNode
    let entries: [String: YNode]
    let allowed: [String]

    func has(_ key: String) -> Bool { entries[key] != nil }

    /// Present and not null.
    func given(_ key: String) -> Bool { entries[key].map { !$0.isNull } ?? false }

    func required<T>(_ key: String, _ read: (YNode) throws -> T) throws -> T {
        guard let n = entries[key] else {
            let p = owner.path.isEmpty ? key : owner.path + "." + key
            throw SpecError(.missingKey, file: owner.file, line: owner.line, keyPath: p,
                            "required key '\(key)' is missing")
        }
        return try read(n)
    }

    /// nil when absent or null.
    func optional<T>(_ key: String, _ read: (YNode) throws -> T) throws -> T? {
        guard let n = entries[key], !n.isNull else { return nil }
        return try read(n)
    }

    /// `def` when absent or null.
    func value<T>(_ key: String, default def: T, _ read: (YNode) throws -> T) throws -> T {
        try optional(key, read) ?? def
    }

    /// Rejects keys that are valid elsewhere but not in this context (e.g. `max_length` for CIFAR).
    func forbid(_ keys: [String], because reason: String) throws {
        for k in keys { if let n = entries[k] { throw n.error(.unknownKey, "key '\(k)' is not allowed \(reason)") } }
    }

    func node(_ key: String) -> YNode? { entries[key] }
}

/// Finds the line of a dotted key path (`training.optimizer.lr`, `seeds[1]`) in a node tree.
func lineOf(keyPath: String, in root: Node) -> Int? {
    var node = root
    var best = root.mark?.line
    for part in keyPath.split(separator: ".") {
        var name = Substring(part)
        var indices: [Int] = []
        while let open = name.lastIndex(of: "["), name.hasSuffix("]"),
              let i = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
            indices.insert(i, at: 0)
            name = name[..<open]
        }
        guard case .mapping(let m) = node, let next = m[String(name)] else { return best }
        node = next
        best = node.mark?.line ?? best
        for i in indices {
            guard case .sequence(let s) = node, i < s.count else { return best }
            node = s[i]
            best = node.mark?.line ?? best
        }
    }
    return best
}

/// The resolved tag of a node (Yams keeps `Tag.name` internal; `rawValue` is the same string).
func tagName(_ n: Node) -> Tag.Name { Tag.Name(rawValue: n.tag.rawValue) }

// MARK: reading spec files

/// Specs larger than this are refused before parsing: real specs are a few kilobytes, and a huge
/// document would only cost memory and echo back in messages.
let maxSpecBytes = 1_000_000

/// The text of a spec file: a regular file (links followed) of at most `maxSpecBytes`, with no NUL
/// bytes, in valid UTF-8. Each refusal is one line naming the file and the problem.
func readSpecText(_ url: URL) throws -> String {
    let path = url.path
    func fail(_ why: String) -> SpecError { SpecError(.unreadable, file: path, keyPath: "", why) }
    var st = stat()
    guard stat(path, &st) == 0 else {
        throw fail(errno == ENOENT ? "file not found" : "cannot read file: \(String(cString: strerror(errno)))")
    }
    switch st.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw fail("is a directory, expected a YAML spec file")
    case S_IFIFO: throw fail("is a FIFO (named pipe), expected a YAML spec file")
    default: throw fail("is not a regular file, expected a YAML spec file")
    }
    guard st.st_size <= maxSpecBytes else {
        throw fail("file is \(st.st_size) bytes; specs are limited to \(maxSpecBytes) bytes")
    }
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
        throw fail(access(path, R_OK) == 0 ? "cannot read file" : "cannot read file: permission denied")
    }
    guard data.count <= maxSpecBytes else { throw fail("file is larger than \(maxSpecBytes) bytes") }
    if let nul = data.firstIndex(of: 0) {
        throw fail("byte \(nul - data.startIndex) is NUL: a binary file, expected YAML text")
    }
    if let bad = firstInvalidUTF8(data) {
        let line = 1 + data.prefix(bad).reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        throw SpecError(.unreadable, file: path, line: line, keyPath: "",
                        "not UTF-8 text: invalid byte 0x\(String(data[data.startIndex + bad], radix: 16)) at offset \(bad); save the spec as UTF-8")
    }
    return String(decoding: data, as: UTF8.self)
}

/// Offset of the first byte that does not start a valid UTF-8 sequence, or nil.
func firstInvalidUTF8(_ data: Data) -> Int? {
    var parser = Unicode.UTF8.ForwardParser()
    var it = data.makeIterator()
    var offset = 0
    while true {
        switch parser.parseScalar(from: &it) {
        case .valid(let s): offset += s.count
        case .emptyInput: return nil
        case .error(let length): _ = length; return offset
        }
    }
}

/// One line, at most ~300 characters, for a YAML syntax error: never the document itself
/// (Yams's own descriptions append the offending lines or the whole mapping).
func yamlErrorSummary(_ error: Error) -> String {
    func clip(_ s: String, _ n: Int = 120) -> String {
        let one = s.split(whereSeparator: \.isNewline).joined(separator: " ")
        return one.count <= n ? one : String(one.prefix(n)) + "…"
    }
    guard let e = error as? YamlError else { return clip(String(describing: error), 300) }
    switch e {
    case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
        return "line \(mark.line), column \(mark.column): \(clip(problem))"
    case let .reader(problem, offset, _, _):
        return "\(clip(problem))\(offset.map { " at byte \($0)" } ?? "")"
    case let .duplicatedKeysInMapping(duplicates, context):
        let keys = duplicates.sorted().prefix(5).map { "'\(clip($0, 60))'" }.joined(separator: ", ")
        return "line \(context.mark.line): duplicate key \(keys) in one mapping"
    default:
        return clip(e.description, 300)
    }
}
