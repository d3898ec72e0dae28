import Foundation
import XCTest
import Datasets
import Tokenizer

final class SyntheticSSTTests: SSTTempDirTestCase {
    func bytes(_ d: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in ["stsa.binary.train", "stsa.binary.dev", "stsa.binary.test", "vocab.txt", "README.txt"] {
            out[name] = try Data(contentsOf: d.appendingPathComponent(name))
        }
        return out
    }

    func testDeterministicPerSeed() throws {
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b"), c = dir.appendingPathComponent("c")
        try SyntheticSST.write(to: a, count: 300, seed: 7)
        try SyntheticSST.write(to: b, count: 300, seed: 7)
        try SyntheticSST.write(to: c, count: 300, seed: 8)
        XCTAssertEqual(try bytes(a), try bytes(b))
        XCTAssertNotEqual(try bytes(a)["stsa.binary.train"], try bytes(c)["stsa.binary.train"])
    }

    func testSizesBalanceHardFractionAndUniqueness() throws {
        let splits = SyntheticSST.generate(count: 9613, seed: 3, hardFraction: 0.3)
        XCTAssertEqual([splits[.train]!.count, splits[.dev]!.count, splits[.test]!.count], [6920, 872, 1821])
        for (split, sentences) in splits {
            let pos = sentences.filter { $0.label == 1 }.count
            XCTAssertEqual(pos, (sentences.count + 1) / 2, "label balance in \(split)")
            let hard = sentences.filter(\.hard).count
            XCTAssertEqual(hard, Int((Double(sentences.count) * 0.3).rounded()), "hard count in \(split)")
            // Both labels occur among hard and easy sentences.
            XCTAssertEqual(Set(sentences.filter(\.hard).map(\.label)), [0, 1])
            XCTAssertEqual(Set(sentences.filter { !$0.hard }.map(\.label)), [0, 1])
        }
        let all = splits.values.joined().map(\.text)
        XCTAssertEqual(Set(all).count, all.count, "sentences repeat")
        let none = SyntheticSST.generate(count: 50, seed: 3, hardFraction: 0)
        XCTAssertFalse(none.values.joined().contains(where: \.hard))
    }

    func testSentencesLookLikeSST() {
        let splits = SyntheticSST.generate(count: 500, seed: 1)
        for s in splits.values.joined() {
            XCTAssertEqual(s.text, s.text.lowercased())
            XCTAssertTrue(s.text.hasSuffix(" ."), s.text)
            XCTAssertFalse(s.text.contains("n't") && !s.text.contains(" n't"), "PTB splits n't: \(s.text)")
        }
        let hardText = splits.values.joined().filter(\.hard).map(\.text).joined(separator: "\n")
        for cue in [" not ", " never ", " , but ", "although ", "is n't"] {
            XCTAssertTrue(hardText.contains(cue), "no hard sentence uses \(cue)")
        }
    }

    func testVocabularyCoversEverySentenceAndHasBertLayout() throws {
        try SyntheticSST.write(to: dir, count: 9613, seed: 11)
        let tok = try BertTokenizer(vocabFile: dir.appendingPathComponent("vocab.txt"))
        XCTAssertEqual([tok.padID, tok.unknownID, tok.clsID, tok.sepID], [0, 100, 101, 102])
        XCTAssertEqual(tok.vocabulary.id(for: "[MASK]"), 103)
        XCTAssertEqual(tok.vocabulary.id(for: "[unused0]"), 1)
        let corpus = try SSTReader.load(directory: dir)
        XCTAssertEqual(corpus.format, .stsaBinary)
        var pieced = 0
        for e in corpus.labeledPool {
            let ids = tok.encode(e.text)
            if ids.contains(tok.unknownID) {
                XCTFail("[UNK] in \"\(e.text)\": \(tok.tokenize(e.text))")
                return
            }
            if tok.tokenize(e.text).contains(where: { $0.hasPrefix("##") }) { pieced += 1 }
        }
        XCTAssertGreaterThan(pieced, 100, "## pieces should occur")
        let readme = try String(contentsOf: dir.appendingPathComponent("README.txt"), encoding: .utf8)
        XCTAssertTrue(readme.contains("SYNTHETIC"))
    }
}
