/// Errors of the Tokenizer module. Every message names the file (or input) and what was expected.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The vocabulary file could not be read at all.
    case unreadable(path: String, reason: String)
    /// The vocabulary file is not valid UTF-8 (HF opens it with encoding="utf-8").
    case invalidUTF8(path: String)
    /// The vocabulary file has no lines.
    case emptyVocabulary(path: String)
    /// A special token BERT needs ([PAD], [UNK], [CLS], [SEP]) is not a line of the file.
    case missingSpecialToken(path: String, token: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read vocabulary file (\(reason))"
        case let .invalidUTF8(path):
            return "\(path): vocabulary file is not valid UTF-8"
        case let .emptyVocabulary(path):
            return "\(path): vocabulary file has no tokens (expected one token per line, id = line number)"
        case let .missingSpecialToken(path, token):
            return "\(path): vocabulary has no line \"\(token)\" (a BERT vocab.txt has [PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103)"
        }
    }
}
