import Foundation

/// A WordPiece vocabulary as in HF's `load_vocab`: one token per line, id = 0-based line number.
///
/// Lookups compare Unicode scalars exactly (Python `dict[str]` semantics). Swift `String`
/// equality is canonical equivalence, under which precomposed `한` equals its NFD jamo
/// sequence; a `[String: Int]` would therefore find tokens HF does not. Keys are scalar arrays.
public struct Vocabulary: Sendable {
    /// Token text per id (line order, duplicates kept).
    public let tokens: [String]
    /// Where the vocabulary came from (file path or "<memory>"), used in error messages.
    public let source: String
    /// Whole-token index; for duplicated lines the last line wins, like Python's dict assignment.
    let index: [[Unicode.Scalar]: Int32]
    /// Index of `##`-pieces keyed by the text after `##`, so WordPiece need not build prefixed keys.
    let continuation: [[Unicode.Scalar]: Int32]

    /// Builds a vocabulary from tokens in id order.
    public init(tokens: [String], source: String = "<memory>") {
        self.tokens = tokens
        self.source = source
        var index: [[Unicode.Scalar]: Int32] = [:]
        var continuation: [[Unicode.Scalar]: Int32] = [:]
        index.reserveCapacity(tokens.count)
        let hash: Unicode.Scalar = "#"
        for (i, t) in tokens.enumerated() {
            let s = Array(t.unicodeScalars)
            index[s] = Int32(i)
            if s.count >= 2 && s[0] == hash && s[1] == hash {
                continuation[Array(s[2...])] = Int32(i)
            }
        }
        self.index = index
        self.continuation = continuation
    }

    /// Reads a `vocab.txt`. Mirrors Python's text-mode `readlines()` + `rstrip("\n")`:
    /// universal newlines (`\n`, `\r\n` and lone `\r` end a line), nothing else is stripped,
    /// blank lines are tokens too, a final line without newline counts.
    public static func load(contentsOf url: URL) throws -> Vocabulary {
        let path = url.path
        let data: Data
        if let problem = vocabularyFileProblem(path) { throw TokenizerError.unreadable(path: path, reason: problem) }
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(data, source: path)
    }

    /// A vocabulary from the bytes of a `vocab.txt`; `source` names them in errors.
    public static func parse(_ data: Data, source path: String) throws -> Vocabulary {
        guard let text = String(validating: data, as: UTF8.self) else {
            throw TokenizerError.invalidUTF8(path: path)
        }
        let tokens = splitUniversalNewlines(text)
        if tokens.isEmpty { throw TokenizerError.emptyVocabulary(path: path) }
        return Vocabulary(tokens: tokens, source: path)
    }

    /// Number of ids (lines).
    public var count: Int { tokens.count }

    /// Id of a token by exact scalar comparison, or nil.
    public func id(for token: String) -> Int32? { index[Array(token.unicodeScalars)] }

    /// Token text of an id, or nil when out of range.
    public func token(for id: Int32) -> String? {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
    }

    /// Python universal-newline line splitting (the line terminators are dropped).
    static func splitUniversalNewlines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var pendingCR = false
        for s in text.unicodeScalars {
            if pendingCR {
                pendingCR = false
                if s == "\n" { continue } // \r\n is one terminator, already flushed at \r
            }
            if s == "\n" || s == "\r" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
                pendingCR = (s == "\r")
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }
}
