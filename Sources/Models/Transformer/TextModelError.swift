// Errors of the text models' configs and inputs (tensor loading errors are `ModelError`s,
// from the one strict loader).

/// Errors of the text models: config.json files, pretrained names, forward inputs.
public enum TextModelError: Error, CustomStringConvertible, Equatable {
    /// A config field has the wrong JSON type or an unsupported value.
    case badConfigField(file: String, field: String, expected: String, found: String)
    /// The config file could not be read or is not a JSON object.
    case unreadableConfig(file: String, reason: String)
    /// Unknown pretrained name for `named(_:)`.
    case unknownModelName(String)
    /// Bad arguments to a forward call (layer index, batch shape, token id).
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .badConfigField(file, field, expected, found):
            return "\(file): field \"\(field)\": expected \(expected), found \(found)"
        case let .unreadableConfig(file, reason):
            return "\(file): cannot read config: \(reason)"
        case let .unknownModelName(name):
            return "unknown model name \"\(name)\" (known: bert-base-uncased, bert-large-uncased, distilbert-base-uncased)"
        case let .invalidInput(msg):
            return "invalid input: \(msg)"
        }
    }
}
