import Foundation
import XCTest
import Datasets
import Tokenizer

final class SSTSplitTests: SSTTempDirTestCase {
    /// A 9,613-sentence pool in the real layout (synthetic sentences, 6,920/872/1,821 files).
    func loadFullPool() throws -> SSTCorpus {
        try SyntheticSST.write(to: dir, count: 9613, seed: 5)
        return try SSTReader.load(directory: dir)
    }

    func testPaperSplitSizesDisjointAndDeterministic() throws {
        let corpus = try loadFullPool()
        XCTAssertEqual([corpus.train.count, corpus.dev.count, corpus.test.count], [6920, 872, 1821])
        let a = try SSTSplit.make(corpus, scheme: .paper, seed: 0)
        XCTAssertEqual([a.train.count, a.validation.count, a.test.count], [5000, 1613, 3000])
        XCTAssertEqual((a.train + a.validation + a.test).sorted(), Array(0..<9613))

        let again = try SSTSplit.make(corpus, scheme: .paper, seed: 0)
        XCTAssertEqual(a.train, again.train)
        XCTAssertEqual(a.test, again.test)
        XCTAssertEqual(a.indexHash, again.indexHash)
        XCTAssertTrue(a.indexHash.hasPrefix("fnv1a64:") && a.indexHash.count == 24, a.indexHash)

        let b = try SSTSplit.make(corpus, scheme: .paper, seed: 1)
        XCTAssertNotEqual(a.train, b.train)
        XCTAssertNotEqual(a.indexHash, b.indexHash)
        XCTAssertEqual(a.poolHash, b.poolHash) // same data
        // The pool is train, dev, test in file order.
        XCTAssertEqual(a.pool[6920].text, corpus.dev[0].text)
        XCTAssertEqual(a.pool[9612].text, corpus.test[1820].text)
    }

    func testStandardAndGlueSchemes() throws {
        let corpus = try loadFullPool()
        let s = try SSTSplit.make(corpus, scheme: .standard, seed: 3)
        XCTAssertEqual(s.train, Array(0..<6920))
        XCTAssertEqual(s.validation, Array(6920..<7792))
        XCTAssertEqual(s.test, Array(7792..<9613))
        let g = try SSTSplit.make(corpus, scheme: .glue, seed: 3)
        XCTAssertEqual(g.pool.count, 7792)
        XCTAssertEqual(g.validation.count, 872)
        XCTAssertEqual(g.train.count, 6920 - 872)
        XCTAssertEqual(g.test, Array(6920..<7792))
        XCTAssertEqual((g.train + g.validation).sorted(), Array(0..<6920))
        XCTAssertNotEqual(try SSTSplit.make(corpus, scheme: .glue, seed: 4).validation, g.validation)
    }

    func testPaperSizesScaleForOtherPools() {
        XCTAssertTrue(SSTSplit.paperSizes(9613) == (5000, 1613, 3000))
        let s = SSTSplit.paperSizes(100)
        XCTAssertTrue(s == (52, 17, 31), "\(s)")
        let t = SSTSplit.paperSizes(96130)
        XCTAssertTrue(t == (50000, 16130, 30000), "\(t)")
    }

    func testGlueFilesRefuseStandardAndPaper() throws {
        try write("train.tsv", "sentence\tlabel\na\t1\nb\t0\nc\t1\n")
        try write("dev.tsv", "sentence\tlabel\nd\t0\n")
        try write("test.tsv", "index\tsentence\n0\te\n")
        let c = try SSTReader.load(directory: dir)
        XCTAssertThrowsError(try SSTSplit.make(c, scheme: .standard, seed: 0))
        XCTAssertThrowsError(try SSTSplit.make(c, scheme: .paper, seed: 0))
        let g = try SSTSplit.make(c, scheme: .glue, seed: 0)
        XCTAssertEqual(g.validation.count, 1)
        XCTAssertEqual(g.test, [3])
        XCTAssertEqual(g.pool[3].text, "d")
    }

    func testEncodedPoolBatches() throws {
        try SyntheticSST.write(to: dir, count: 40, seed: 2)
        let corpus = try SSTReader.load(directory: dir)
        let split = try SSTSplit.make(corpus, scheme: .paper, seed: 0)
        let tok = try BertTokenizer(vocabFile: dir.appendingPathComponent("vocab.txt"))
        let pool = SSTEncodedPool(split: split, tokenizer: tok, maxLength: 6)
        let batches = pool.batches(split.train, batchSize: 8)
        XCTAssertEqual(batches.map(\.labels.count).reduce(0, +), split.train.count)
        let first = batches[0]
        XCTAssertEqual(first.indices, Array(split.train.prefix(8)))
        XCTAssertEqual(first.labels, first.indices.map { Int32(split.pool[$0].label!) })
        XCTAssertLessThanOrEqual(first.encoded.sequenceLength, 6)
        XCTAssertEqual(first.encoded.row(0), tok.encode(split.pool[first.indices[0]].text, maxLength: 6))
    }
}
