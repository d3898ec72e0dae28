// Character classes of HF tokenization_python.py / tokenization_bert (legacy slow tokenizer),
// and Python's own `str.isspace` used by `str.split()`. All work on Unicode scalars.
// Categories come from Swift's Unicode tables (Python 3.11 ships Unicode 14; Swift's tables are
// newer, so only characters assigned after Unicode 14 can classify differently).

enum CharacterClasses {
    /// `_is_whitespace`: space, \t, \n, \r, or category Zs.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        default: return s.properties.generalCategory == .spaceSeparator
        }
    }

    /// `_is_control`: any category C* (Cc, Cf, Cs, Co, Cn) except \t, \n, \r.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        default: break
        }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// `_is_punctuation`: all printable ASCII non-alphanumerics (33–47, 58–64, 91–96, 123–126,
    /// which includes symbols like $ ^ ` + < = > | ~ that are not Unicode P*), or category P*.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// `_is_chinese_char`: the CJK Unified Ideographs blocks (not Hangul, Hiragana, Katakana).
    static func isChineseChar(_ s: Unicode.Scalar) -> Bool {
        let cp = s.value
        return (0x4E00...0x9FFF).contains(cp) || (0x3400...0x4DBF).contains(cp)
            || (0x20000...0x2A6DF).contains(cp) || (0x2A700...0x2B73F).contains(cp)
            || (0x2B740...0x2B81F).contains(cp) || (0x2B820...0x2CEAF).contains(cp)
            || (0xF900...0xFAFF).contains(cp) || (0x2F800...0x2FA1F).contains(cp)
    }

    /// Python `str.isspace` (what `str.split()` splits on): \t..\r, \x1c..\x1f, space, U+0085,
    /// and the Unicode White_Space characters of categories Zs/Zl/Zp. After `_clean_text` only
    /// ' ', U+2028 and U+2029 can still occur, but the full set keeps the helper honest.
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029,
             0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Python `text.strip().split()`.
    static func splitOnPythonWhitespace(_ text: String) -> [String] {
        var out: [String] = []
        var current = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if isPythonSpace(s) {
                if !current.isEmpty { out.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }
}
