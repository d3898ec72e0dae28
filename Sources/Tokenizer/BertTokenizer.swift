import Foundation

/// HF `BertTokenizer` (the slow Python one; `BertTokenizerLegacy` in transformers 5.x) for
/// uncased models: special tokens split out literally, then `BasicTokenizer`, then
/// `WordpieceTokenizer`; `[CLS] pieces [SEP]` with right-side truncation. formats.md §7.
public struct BertTokenizer: Sendable {
    /// Special tokens HF treats as added tokens: written literally in the text they are kept
    /// whole (case-sensitive, not lowercased) and map to their vocabulary id.
    public static let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    /// Special tokens a vocabulary must contain (a missing one is `TokenizerError.missingSpecialToken`).
    public static let requiredSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]

    public let vocabulary: Vocabulary
    public let basic: BasicTokenizer
    public let wordpiece: WordpieceTokenizer
    public let padID: Int32
    public let unknownID: Int32
    public let clsID: Int32
    public let sepID: Int32
    private let specialScalars: [[Unicode.Scalar]]

    /// Checks the special tokens and builds both stages.
    public init(vocabulary: Vocabulary) throws {
        func require(_ t: String) throws -> Int32 {
            guard let id = vocabulary.id(for: t) else {
                throw TokenizerError.missingSpecialToken(path: vocabulary.source, token: t)
            }
            return id
        }
        padID = try require("[PAD]")
        unknownID = try require("[UNK]")
        clsID = try require("[CLS]")
        sepID = try require("[SEP]")
        self.vocabulary = vocabulary
        basic = BasicTokenizer(lowercase: true, tokenizeChineseChars: true, neverSplit: BertTokenizer.specialTokens)
        wordpiece = WordpieceTokenizer(vocabulary: vocabulary, unknownToken: "[UNK]")
        specialScalars = BertTokenizer.specialTokens.map { Array($0.unicodeScalars) }
    }

    /// Loads `vocab.txt` and builds the tokenizer.
    public init(vocabFile: URL) throws {
        try self.init(vocabulary: Vocabulary.load(contentsOf: vocabFile))
    }

    /// WordPiece strings of `text`, without [CLS]/[SEP] (HF `tokenize`).
    public func tokenize(_ text: String) -> [String] {
        pieces(text).map(\.text)
    }

    /// WordPiece ids of `text`, without [CLS]/[SEP].
    public func pieceIDs(_ text: String) -> [Int32] {
        pieces(text).map { $0.id ?? unknownID }
    }

    /// Model input ids `[CLS] pieces [SEP]` (HF `encode(text)`); with `maxLength` (>= 2) only
    /// the first `maxLength - 2` pieces are kept (HF truncation=True, longest_first, right side).
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int32] {
        var ids = pieceIDs(text)
        if let m = maxLength {
            precondition(m >= 2, "maxLength must leave room for [CLS] and [SEP], got \(m)")
            if ids.count > m - 2 { ids.removeLast(ids.count - (m - 2)) }
        }
        return [clsID] + ids + [sepID]
    }

    /// Encodes every text and pads the batch to its own longest sequence (dynamic padding).
    public func encodeBatch(_ texts: [String], maxLength: Int? = nil) -> EncodedBatch {
        EncodedBatch(sequences: texts.map { encode($0, maxLength: maxLength) }, padID: padID)
    }

    /// HF `tokenize`: split on literal special tokens (leftmost, non-overlapping), keep those
    /// whole, run basic + wordpiece on the text between them.
    private func pieces(_ text: String) -> [(id: Int32?, text: String)] {
        var out: [(id: Int32?, text: String)] = []
        for segment in splitOnSpecialTokens(text) {
            if segment.isSpecial {
                out.append((vocabulary.id(for: segment.text) ?? unknownID, segment.text))
                continue
            }
            // A special token that only appears after cleaning (e.g. "[SE\0P]") is kept whole by
            // the basic tokenizer's neverSplit and then found whole by wordpiece, as in HF.
            for word in basic.tokenize(segment.text) {
                out.append(contentsOf: wordpiece.pieces(ofWord: word))
            }
        }
        return out
    }

    private func splitOnSpecialTokens(_ text: String) -> [(text: String, isSpecial: Bool)] {
        let s = Array(text.unicodeScalars)
        var out: [(text: String, isSpecial: Bool)] = []
        var plainStart = 0
        var i = 0
        outer: while i < s.count {
            if s[i] == "[" {
                for special in specialScalars where i + special.count <= s.count {
                    if Array(s[i..<(i + special.count)]) == special {
                        if plainStart < i {
                            out.append((String(String.UnicodeScalarView(s[plainStart..<i])), false))
                        }
                        out.append((String(String.UnicodeScalarView(special)), true))
                        i += special.count
                        plainStart = i
                        continue outer
                    }
                }
            }
            i += 1
        }
        if plainStart < s.count { out.append((String(String.UnicodeScalarView(s[plainStart...])), false)) }
        return out
    }
}

/// A padded batch of token id sequences, row-major `[B, T]` with `T` = the longest sequence of
/// this batch (dynamic per-batch padding, right side).
public struct EncodedBatch: Sendable, Equatable {
    /// B.
    public let batchSize: Int
    /// T (0 for an empty batch).
    public let sequenceLength: Int
    /// `[B, T]` input ids, padded with the pad id ([PAD] = 0 in BERT vocabularies).
    public let inputIDs: [Int32]
    /// `[B, T]` attention mask as Int32 (HF convention): 1 for real tokens incl. [CLS]/[SEP], 0 for padding.
    /// Use `attentionMaskFloat` for a Float mask.
    public let attentionMask: [Int32]
    /// Unpadded length of each row.
    public let lengths: [Int]

    /// Pads `sequences` on the right with `padID` to the longest one.
    public init(sequences: [[Int32]], padID: Int32 = 0) {
        let t = sequences.map(\.count).max() ?? 0
        var ids = [Int32](repeating: padID, count: sequences.count * t)
        var mask = [Int32](repeating: 0, count: sequences.count * t)
        for (b, seq) in sequences.enumerated() {
            for (j, id) in seq.enumerated() {
                ids[b * t + j] = id
                mask[b * t + j] = 1
            }
        }
        batchSize = sequences.count
        sequenceLength = t
        inputIDs = ids
        attentionMask = mask
        lengths = sequences.map(\.count)
    }

    /// The attention mask as Float (1 real, 0 padding), `[B, T]`.
    public var attentionMaskFloat: [Float] { attentionMask.map { Float($0) } }

    /// Row `b` of the ids without padding.
    public func row(_ b: Int) -> [Int32] {
        Array(inputIDs[(b * sequenceLength)..<(b * sequenceLength + lengths[b])])
    }
}

/// The same tokenizer under the name of what it does (the `uncasedWordPiece` tokenizer a text
/// MainNet family declares), for callers that do not name a model family.
public typealias UncasedWordPieceTokenizer = BertTokenizer
