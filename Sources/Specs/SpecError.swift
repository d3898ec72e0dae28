/// An experiment-spec error: names the file, the line (when known), the key path
/// (`training.optimizer.lr`, `seeds[2]`) and what is allowed.
public struct SpecError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        /// The file could not be read.
        case unreadable
        /// The YAML itself is malformed (syntax, duplicate key, several documents, alias).
        case syntax
        /// A key that the spec does not define (also: a key not allowed for this dataset/arch).
        case unknownKey
        /// A required key is absent.
        case missingKey
        /// The value has the wrong YAML type (string where a number is expected, ...).
        case wrongType
        /// A number outside its range, or a string outside its set of allowed values.
        case outOfRange
        /// A semantic constraint between fields (attach point vs. arch, unique seeds, ...).
        case invalid
    }

    public var kind: Kind
    /// The spec file ("" when the spec did not come from a file).
    public var file: String
    /// 1-based line of the offending node, when known.
    public var line: Int?
    /// Dotted key path from the document root; "" for the whole document.
    public var keyPath: String
    /// What is wrong and what is allowed.
    public var message: String

    public init(_ kind: Kind, file: String = "", line: Int? = nil, keyPath: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        var loc = file.isEmpty ? "spec" : file
        if let line { loc += ":\(line)" }
        let key = keyPath.isEmpty ? "" : " \(keyPath):"
        return "\(loc):\(key) \(message)"
    }
}
