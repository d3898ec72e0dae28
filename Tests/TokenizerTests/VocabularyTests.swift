import Foundation
import XCTest
import Tokenizer

final class VocabularyTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("sidenet-vocab-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func testIdsAreLineNumbersAndOnlyNewlinesAreStripped() throws {
        let url = try write("vocab.txt", "[PAD]\n tok \n\nlast")
        let v = try Vocabulary.load(contentsOf: url)
        XCTAssertEqual(v.tokens, ["[PAD]", " tok ", "", "last"])
        XCTAssertEqual(v.id(for: " tok "), 1)
        XCTAssertNil(v.id(for: "tok"))
        XCTAssertEqual(v.id(for: "last"), 3)
    }

    func testUniversalNewlinesLikePythonTextMode() throws {
        let url = try write("vocab.txt", "a\r\nb\rc\n")
        XCTAssertEqual(try Vocabulary.load(contentsOf: url).tokens, ["a", "b", "c"])
    }

    func testMissingSpecialTokenNamesFileAndToken() throws {
        let url = try write("vocab.txt", "[PAD]\n[UNK]\n[SEP]\nhello\n")
        XCTAssertThrowsError(try BertTokenizer(vocabFile: url)) { error in
            XCTAssertEqual(error as? TokenizerError, .missingSpecialToken(path: url.path, token: "[CLS]"))
            let message = "\(error)"
            XCTAssertTrue(message.contains(url.path) && message.contains("[CLS]"), message)
        }
    }

    func testMissingFileAndInvalidUTF8AreErrors() throws {
        let missing = dir.appendingPathComponent("nope.txt")
        XCTAssertThrowsError(try Vocabulary.load(contentsOf: missing)) { error in
            guard case .unreadable(let path, _)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing.path)
        }
        let bad = dir.appendingPathComponent("bad.txt")
        try Data([0x61, 0xFF, 0x0A]).write(to: bad)
        XCTAssertThrowsError(try Vocabulary.load(contentsOf: bad)) { error in
            XCTAssertEqual(error as? TokenizerError, .invalidUTF8(path: bad.path))
        }
    }

    func testDuplicateLinesLastWinsLikePythonDict() {
        let v = Vocabulary(tokens: ["x", "y", "x"])
        XCTAssertEqual(v.id(for: "x"), 2)
    }

    func testBatchPaddingAndMask() throws {
        let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b", "c"]
        let tok = try BertTokenizer(vocabulary: Vocabulary(tokens: tokens))
        let batch = tok.encodeBatch(["a b c", "a", "z"], maxLength: nil)
        XCTAssertEqual(batch.batchSize, 3)
        XCTAssertEqual(batch.sequenceLength, 5)
        XCTAssertEqual(batch.inputIDs, [2, 4, 5, 6, 3,
                                        2, 4, 3, 0, 0,
                                        2, 1, 3, 0, 0])
        XCTAssertEqual(batch.attentionMask, [1, 1, 1, 1, 1,
                                             1, 1, 1, 0, 0,
                                             1, 1, 1, 0, 0])
        XCTAssertEqual(batch.lengths, [5, 3, 3])
        XCTAssertEqual(batch.row(1), [2, 4, 3])
        XCTAssertEqual(batch.attentionMaskFloat[3], 1)
        XCTAssertEqual(batch.attentionMaskFloat[8], 0)
        let truncated = tok.encodeBatch(["a b c", "a"], maxLength: 3)
        XCTAssertEqual(truncated.inputIDs, [2, 4, 3, 2, 4, 3])
        XCTAssertEqual(tok.encode("a b c", maxLength: 2), [2, 3])
    }

    func testWordpieceWholeWordUnknownAndLengthLimit() {
        let v = Vocabulary(tokens: ["[UNK]", "a", "##a", "b", "##b"])
        let wp = WordpieceTokenizer(vocabulary: v)
        XCTAssertEqual(wp.tokenize("abz ab"), ["[UNK]", "a", "##b"])
        XCTAssertEqual(wp.tokenize(String(repeating: "a", count: 100)).count, 100)
        XCTAssertEqual(wp.tokenize(String(repeating: "a", count: 101)), ["[UNK]"])
    }

    func testBasicTokenizerSteps() {
        let basic = BasicTokenizer()
        XCTAssertEqual(basic.tokenize("Héllo,\tWORLD!$x"), ["hello", ",", "world", "!", "$", "x"])
        XCTAssertEqual(basic.tokenize("ΟΔΟΣ"), ["οδος"])       // Python final sigma
        XCTAssertEqual(basic.tokenize("a\u{200B}b\u{0}c"), ["abc"]) // format + NUL removed
        XCTAssertEqual(basic.tokenize("中文x"), ["中", "文", "x"])
    }
}

final class VocabularyFileKindTests: XCTestCase {
    func testDirectoryInPlaceOfVocabIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sidenet-vocabdir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try Vocabulary.load(contentsOf: dir)) { e in
            XCTAssertEqual(e as? TokenizerError, .unreadable(path: dir.path, reason: "is a directory, expected a file"))
        }
    }
}
