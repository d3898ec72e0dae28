import Foundation
import XCTest
import Tokenizer

/// Compares against ids written by HF's slow BertTokenizer (Tests/Fixtures/tokenizer.py).
final class TokenizerParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer")

    struct Line: Decodable { let text: String }

    func loadCorpus() throws -> [String] {
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent("corpus.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n", omittingEmptySubsequences: true).map {
            try JSONDecoder().decode(Line.self, from: Data($0.utf8)).text
        }
    }

    func loadLines(_ name: String) throws -> [String] {
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent(name), encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    func tokenizer() throws -> BertTokenizer {
        try BertTokenizer(vocabFile: Self.fixtures.appendingPathComponent("vocab.txt"))
    }

    /// Exact comparison; reports the first differing line with input, expected and actual.
    func checkParity(maxLength: Int?, expectedFile: String) throws {
        let tok = try tokenizer()
        let corpus = try loadCorpus()
        let expected = try loadLines(expectedFile)
        let pieces = try loadLines("expected_tokens.txt")
        XCTAssertEqual(corpus.count, expected.count, "corpus and \(expectedFile) line counts differ")
        XCTAssertGreaterThan(corpus.count, 40)
        for (i, text) in corpus.enumerated() where i < expected.count {
            let got = tok.encode(text, maxLength: maxLength).map(String.init).joined(separator: " ")
            if got != expected[i] {
                XCTFail("""
                    \(expectedFile) line \(i + 1) differs for input \(String(reflecting: text))
                      expected: \(expected[i])
                      actual:   \(got)
                      expected pieces: \(pieces[i])
                      actual pieces:   \(tok.tokenize(text).joined(separator: " "))
                    """)
                return
            }
        }
    }

    func testParityFullLength() throws {
        try checkParity(maxLength: nil, expectedFile: "expected_full.txt")
    }

    func testParityTruncatedToEight() throws {
        try checkParity(maxLength: 8, expectedFile: "expected_max8.txt")
    }

    func testPieceStringsMatch() throws {
        let tok = try tokenizer()
        let corpus = try loadCorpus()
        let pieces = try loadLines("expected_tokens.txt")
        for (i, text) in corpus.enumerated() {
            let got = tok.tokenize(text).joined(separator: " ")
            if got != pieces[i] {
                XCTFail("expected_tokens.txt line \(i + 1): expected \(pieces[i]) got \(got)")
                return
            }
        }
    }

    func testSpecialIdsAndDocstringExample() throws {
        let tok = try tokenizer()
        XCTAssertEqual([tok.padID, tok.unknownID, tok.clsID, tok.sepID], [0, 100, 101, 102])
        XCTAssertEqual(tok.tokenize("unaffable"), ["un", "##aff", "##able"])
        // Precomposed 한 is in the vocabulary but NFD jamo must not match it (exact scalar lookup).
        XCTAssertEqual(tok.tokenize("한"), ["ᄒ", "##ᅡ", "##ᆫ"])
    }
}
