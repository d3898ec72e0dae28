/// HF `WordpieceTokenizer`: greedy longest-match-first over Unicode scalars (Python iterates
/// code points; Swift `Character`s would merge e.g. NFD Hangul jamo into one grapheme).
/// formats.md §7.3.
public struct WordpieceTokenizer: Sendable {
    public let vocabulary: Vocabulary
    /// Text of the unknown token ([UNK]).
    public let unknownToken: String
    /// Id of the unknown token; nil when the vocabulary lacks it (HF would then return None).
    public let unknownID: Int32?
    /// Words with more scalars than this become [UNK] (`max_input_chars_per_word`).
    public let maxInputCharsPerWord: Int

    public init(vocabulary: Vocabulary, unknownToken: String = "[UNK]", maxInputCharsPerWord: Int = 100) {
        self.vocabulary = vocabulary
        self.unknownToken = unknownToken
        self.unknownID = vocabulary.id(for: unknownToken)
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Piece ids of one basic token: greedy longest match with `##` for non-initial pieces; if
    /// any position has no match, or the word is longer than `maxInputCharsPerWord` scalars, the
    /// whole word is one [UNK] (pieces found so far are discarded).
    /// Returns (vocabulary id or nil for an [UNK] the vocabulary lacks, piece text).
    public func pieces(ofWord word: String) -> [(id: Int32?, text: String)] {
        let chars = Array(word.unicodeScalars)
        if chars.count > maxInputCharsPerWord { return [(unknownID, unknownToken)] }
        var out: [(id: Int32?, text: String)] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: Int32? = nil
            while start < end {
                let sub = Array(chars[start..<end])
                if let id = start > 0 ? vocabulary.continuation[sub] : vocabulary.index[sub] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [(unknownID, unknownToken)] }
            var text = String(String.UnicodeScalarView(chars[start..<end]))
            if start > 0 { text = "##" + text }
            out.append((id, text))
            start = end
        }
        return out
    }

    /// Piece strings of whitespace-separated text (HF `WordpieceTokenizer.tokenize`).
    public func tokenize(_ text: String) -> [String] {
        CharacterClasses.splitOnPythonWhitespace(text).flatMap { pieces(ofWord: $0).map(\.text) }
    }
}
