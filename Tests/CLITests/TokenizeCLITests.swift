import Foundation
import XCTest

/// `sidenet tokenize`: ids per stdin line from the generated vocab.txt ([CLS] ... [SEP], unknown
/// words as [UNK], --max-length truncation); a missing vocabulary and --max-length 1 fail.
final class TokenizeCLITests: XCTestCase {
    func testIdsFollowTheVocabularyLines() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("tokenize"); defer { s.cleanup() }
        let vocabPath = f.sst + "/vocab.txt"
        let vocab = try String(contentsOfFile: vocabPath, encoding: .utf8).split(separator: "\n").map(String.init)
        // two whole words of the generated vocabulary (after the special and unused tokens)
        let words = vocab.filter { $0.allSatisfy(\.isLetter) && $0.count > 2 }
        let (w1, w2) = (try XCTUnwrap(words.first), try XCTUnwrap(words.last))
        let id = { (t: String) in vocab.firstIndex(of: t)! }
        let r = try sidenet(["tokenize", "--vocab", vocabPath], cwd: s.dir,
                            stdin: "\(w1) \(w2.uppercased())\nzzqxv\n\n")
        let lines = assertSucceeds(r).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 4, "three input lines and the final newline: \(lines)")
        XCTAssertEqual(lines[0], "\(id("[CLS]")) \(id(w1)) \(id(w2)) \(id("[SEP]"))", "uncased lookup")
        let unk = lines[1].split(separator: " ").map { Int($0)! }
        XCTAssertEqual(unk.first, 101); XCTAssertEqual(unk.last, 102)
        XCTAssertTrue(unk.dropFirst().dropLast().allSatisfy { $0 == id("[UNK]") || $0 > 103 }, "\(unk)")
        XCTAssertEqual(lines[2], "101 102", "an empty line is [CLS] [SEP]")

        let cut = try sidenet(["tokenize", "--vocab", vocabPath, "--max-length", "3"], cwd: s.dir, stdin: "\(w1) \(w2) \(w1)\n")
        XCTAssertEqual(assertSucceeds(cut), "101 \(id(w1)) 102\n")
    }

    func testMissingVocabularyAndShortMaxLengthFail() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("tokenize-bad"); defer { s.cleanup() }
        assertRejected(try sidenet(["tokenize", "--vocab", "missing-vocab.txt"], cwd: s.dir, stdin: "hello\n"),
                           mentions: ["missing-vocab.txt"])
        assertRejected(try sidenet(["tokenize", "--vocab", f.sst + "/vocab.txt", "--max-length", "1"], cwd: s.dir, stdin: "a\n"),
                           mentions: ["--max-length"])
    }
}
