import Foundation

/// HF `BasicTokenizer` (slow, Python) with do_lower_case=True, tokenize_chinese_chars=True,
/// strip_accents=None (follows lowercasing), do_split_on_punc=True. formats.md §7.2.
///
/// Pipeline: clean (drop U+0000, U+FFFD and C* controls; whitespace -> ' ') -> spaces around
/// CJK ideographs -> NFC -> Python whitespace split -> per token: lowercase (Python
/// `str.lower`: full mapping plus Final_Sigma) and strip accents (NFD, drop Mn) unless the token
/// is in `neverSplit` -> punctuation split -> whitespace re-split.
public struct BasicTokenizer: Sendable {
    /// `do_lower_case` (accent stripping follows it, as with strip_accents=None).
    public var lowercase: Bool
    /// `tokenize_chinese_chars`.
    public var tokenizeChineseChars: Bool
    /// Tokens kept whole (not lowercased, not punctuation-split), compared scalar by scalar.
    public var neverSplit: Set<[Unicode.Scalar]>

    public init(lowercase: Bool = true, tokenizeChineseChars: Bool = true, neverSplit: [String] = []) {
        self.lowercase = lowercase
        self.tokenizeChineseChars = tokenizeChineseChars
        self.neverSplit = Set(neverSplit.map { Array($0.unicodeScalars) })
    }

    /// Splits `text` into basic tokens.
    public func tokenize(_ text: String) -> [String] {
        var cleaned = BasicTokenizer.clean(text)
        if tokenizeChineseChars { cleaned = BasicTokenizer.spaceChineseChars(cleaned) }
        // "prevents treating the same character with different unicode codepoints as different characters"
        let normalized = cleaned.precomposedStringWithCanonicalMapping
        var split: [String] = []
        for original in CharacterClasses.splitOnPythonWhitespace(normalized) {
            let keep = neverSplit.contains(Array(original.unicodeScalars))
            var token = original
            if lowercase && !keep {
                token = BasicTokenizer.stripAccents(BasicTokenizer.pythonLowercased(token))
            }
            if keep {
                split.append(token)
            } else {
                split.append(contentsOf: BasicTokenizer.splitOnPunctuation(token))
            }
        }
        // HF joins with ' ' and splits again; identical to dropping empty pieces unless a piece
        // contains whitespace, which the re-split keeps faithful.
        return CharacterClasses.splitOnPythonWhitespace(split.joined(separator: " "))
    }

    /// `_clean_text`.
    static func clean(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.value == 0 || s.value == 0xFFFD || CharacterClasses.isControl(s) { continue }
            out.append(CharacterClasses.isWhitespace(s) ? " " : s)
        }
        return String(out)
    }

    /// `_tokenize_chinese_chars`.
    static func spaceChineseChars(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if CharacterClasses.isChineseChar(s) {
                out.append(" "); out.append(s); out.append(" ")
            } else {
                out.append(s)
            }
        }
        return String(out)
    }

    /// Python `str.lower()`: each scalar's full lowercase mapping (what `String.lowercased()`
    /// does, e.g. İ -> i + U+0307), plus the one context rule Python applies and Swift does
    /// not: capital sigma in Final_Sigma position (cased letter before it, skipping
    /// case-ignorables; no cased letter after it, skipping case-ignorables) becomes ς.
    static func pythonLowercased(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains(where: { $0.value == 0x03A3 }) else { return text.lowercased() }
        var out = String.UnicodeScalarView()
        for (i, s) in scalars.enumerated() {
            if s.value == 0x03A3 {
                out.append(isFinalSigma(scalars, at: i) ? "\u{03C2}" : "\u{03C3}")
            } else {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    /// CPython `handle_capital_sigma`.
    static func isFinalSigma(_ s: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && s[j].properties.isCased else { return false }
        j = i + 1
        while j < s.count && s[j].properties.isCaseIgnorable { j += 1 }
        return j == s.count || !s[j].properties.isCased
    }

    /// `_run_strip_accents`: NFD, then drop every nonspacing mark (Mn).
    static func stripAccents(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.decomposedStringWithCanonicalMapping.unicodeScalars
        where s.properties.generalCategory != .nonspacingMark {
            out.append(s)
        }
        return String(out)
    }

    /// `_run_split_on_punc`: every punctuation scalar becomes its own token.
    static func splitOnPunctuation(_ text: String) -> [String] {
        var out: [String] = []
        var current = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if CharacterClasses.isPunctuation(s) {
                if !current.isEmpty { out.append(String(current)); current = String.UnicodeScalarView() }
                out.append(String(s))
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }
}
