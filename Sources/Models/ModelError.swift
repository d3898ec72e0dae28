/// Errors of the Models module: one line naming the key, tensor or argument and what was expected.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// A state-dict key the model needs is absent.
    case missingKey(String, expectedShape: [Int], source: String)
    /// A state-dict key the model does not have.
    case unexpectedKey(String, shape: [Int], source: String)
    /// A tensor whose shape differs from the model's.
    case shapeMismatch(String, expected: [Int], got: [Int], source: String)
    /// A tensor stored with a dtype that cannot be used as Float32 data.
    case unreadableTensor(String, reason: String, source: String)
    case badAttachPoint(String, reason: String)
    case unknownArchitecture(String, known: [String])
    case badInput(String)

    public var description: String {
        switch self {
        case let .missingKey(k, s, src):
            return "\(src): missing key '\(k)' (model expects shape \(s), file has none)"
        case let .unexpectedKey(k, s, src):
            return "\(src): unexpected key '\(k)' with shape \(s) (model has no such tensor)"
        case let .shapeMismatch(k, e, g, src):
            return "\(src): key '\(k)' has shape \(g) in the file, model expects \(e)"
        case let .unreadableTensor(k, r, src):
            return "\(src): key '\(k)' cannot be read: \(r)"
        case let .badAttachPoint(t, r):
            return "bad SideNet attach point '\(t)': \(r)"
        case let .unknownArchitecture(a, known):
            return "unknown architecture '\(a)' (known: \(known.joined(separator: ", ")))"
        case let .badInput(m):
            return "bad input: \(m)"
        }
    }
}
