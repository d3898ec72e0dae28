/// Errors raised when importing optimizer or scheduler state (checkpoint resume).
public enum OptimError: Error, CustomStringConvertible, Equatable {
    /// The state names a parameter the optimizer does not hold.
    case unknownParameter(name: String)
    /// A moment tensor's element count or shape differs from the parameter's.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// A flat state-tensor dictionary lacks a key or holds a malformed one.
    case malformedState(key: String, reason: String)

    public var description: String {
        switch self {
        case .unknownParameter(let name):
            return "optimizer state: parameter '\(name)' is not held by this optimizer"
        case .shapeMismatch(let name, let expected, let found):
            return "optimizer state: parameter '\(name)' expects shape \(expected), state has \(found)"
        case .malformedState(let key, let reason):
            return "optimizer state: key '\(key)': \(reason)"
        }
    }
}
