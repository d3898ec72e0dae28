import Foundation
import XCTest
import Datasets

final class SSTReaderTests: SSTTempDirTestCase {
    func testStsaBinary() throws {
        try write("stsa.binary.train", "1 a stirring , funny film\n0 a dull one \n")
        try write("stsa.binary.dev", "0 bad\r\n")
        try write("stsa.binary.test", "1 good")
        let c = try SSTReader.load(directory: dir)
        XCTAssertEqual(c.format, .stsaBinary)
        XCTAssertEqual(c.train.map(\.text), ["a stirring , funny film", "a dull one "])
        XCTAssertEqual(c.train.map(\.label), [1, 0])
        XCTAssertEqual(c.dev, [SSTExample(text: "bad", label: 0, sourceSplit: .dev, sourceIndex: 0)])
        XCTAssertEqual(c.test, [SSTExample(text: "good", label: 1, sourceSplit: .test, sourceIndex: 0)])
        XCTAssertEqual(c.labeledPool.map(\.text), ["a stirring , funny film", "a dull one ", "bad", "good"])
    }

    func testSentEval() throws {
        try write("sentiment-train", "it 's fine\t1\nawful\t0\n")
        try write("sentiment-dev", "meh\t0\n")
        try write("sentiment-test", "great\t1\n")
        let c = try SSTReader.load(directory: dir)
        XCTAssertEqual(c.format, .sentEval)
        XCTAssertEqual(c.train.map(\.text), ["it 's fine", "awful"])
        XCTAssertEqual(c.train.map(\.label), [1, 0])
        XCTAssertEqual(c.test.first?.label, 1)
    }

    func testJSONLines() throws {
        try write("train.jsonl", #"{"text": "a \"quoted\" film", "label": 1, "label_text": "positive"}"# + "\n")
        try write("dev.jsonl", #"{"label": 0, "text": "dull"}"# + "\n")
        try write("test.jsonl", #"{"text": "caf\u00e9", "label": 1}"# + "\n")
        let c = try SSTReader.load(directory: dir)
        XCTAssertEqual(c.format, .jsonLines)
        XCTAssertEqual(c.train.first?.text, "a \"quoted\" film")
        XCTAssertEqual(c.dev.first?.label, 0)
        XCTAssertEqual(c.test.first?.text, "café")
    }

    func testGLUEWithUnlabeledTestAndNoCSVQuoting() throws {
        try write("train.tsv", "sentence\tlabel\nhide new secretions \t0\n\"quoted\" stays \t1\n")
        try write("dev.tsv", "sentence\tlabel\nit 's a charming journey . \t1\n")
        try write("test.tsv", "index\tsentence\n0\tuneasy mishmash .\n1\tthis film 's relationship\n")
        let c = try SSTReader.load(directory: dir)
        XCTAssertEqual(c.format, .glue)
        XCTAssertEqual(c.train.map(\.text), ["hide new secretions ", "\"quoted\" stays "])
        XCTAssertEqual(c.train.map(\.label), [0, 1])
        XCTAssertEqual(c.dev.map(\.label), [1])
        XCTAssertEqual(c.test.map(\.text), ["uneasy mishmash .", "this film 's relationship"])
        XCTAssertEqual(c.test.map(\.label), [nil, nil])
        XCTAssertEqual(c.test.map(\.sourceIndex), [0, 1])
        XCTAssertEqual(c.labeledPool.count, 3)
    }

    func testGLUEMalformedLineReportsFileAndLineNumber() throws {
        try write("train.tsv", "sentence\tlabel\nok\t1\n")
        let dev = try write("dev.tsv", "sentence\tlabel\nfine\t0\nno tab here\nlater\t1\n")
        XCTAssertThrowsError(try SSTReader.load(directory: dir)) { error in
            guard case let .malformedLine(path, line, _)? = error as? SSTError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, dev.path)
            XCTAssertEqual(line, 3)
            XCTAssertTrue("\(error)".hasPrefix("\(dev.path):3:"), "\(error)")
        }
    }

    func testGLUEBadHeaderAndBadLabel() throws {
        let train = try write("train.tsv", "text\tlabel\nok\t1\n")
        try write("dev.tsv", "sentence\tlabel\nfine\t0\n")
        XCTAssertThrowsError(try SSTReader.load(directory: dir, format: .glue)) { error in
            XCTAssertEqual((error as? SSTError).map { if case let .malformedLine(p, l, _) = $0 { return "\(p):\(l)" } else { return "" } },
                           "\(train.path):1")
        }
        try write("train.tsv", "sentence\tlabel\nok\t1\nbad label\t2\n")
        XCTAssertThrowsError(try SSTReader.load(directory: dir, format: .glue)) { error in
            guard case let .malformedLine(_, line, _)? = error as? SSTError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 3)
        }
    }

    func testMalformedStsaAndJSONLines() throws {
        try write("stsa.binary.train", "1 fine\n2 wrong label\n")
        try write("stsa.binary.dev", "0 x\n")
        try write("stsa.binary.test", "0 y\n")
        XCTAssertThrowsError(try SSTReader.load(directory: dir)) { error in
            guard case let .malformedLine(_, line, _)? = error as? SSTError else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 2)
        }
        try write("train.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n")
        try write("dev.jsonl", "{\"text\": \"a\", \"label\": 1}\n")
        try write("test.jsonl", "{\"text\": \"a\", \"label\": 1}\n")
        XCTAssertThrowsError(try SSTReader.load(directory: dir, format: .jsonLines)) { error in
            guard case let .malformedLine(path, line, _)? = error as? SSTError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("train.jsonl"))
            XCTAssertEqual(line, 2)
        }
    }

    func testMissingDirectoryNamesExpectedFilesAndSources() {
        let missing = dir.appendingPathComponent("nope")
        XCTAssertThrowsError(try SSTReader.load(directory: missing)) { error in
            XCTAssertEqual(error as? SSTError, .missingData(directory: missing.path))
            let m = "\(error)"
            for needle in ["stsa.binary", "sentiment-", "train.tsv", "SST-2.zip", "SentEval", "jsonl"] {
                XCTAssertTrue(m.contains(needle), "message lacks \(needle): \(m)")
            }
        }
    }

    func testNamedFormatWithMissingFile() throws {
        try write("stsa.binary.train", "1 a\n")
        XCTAssertThrowsError(try SSTReader.load(directory: dir, format: .stsaBinary)) { error in
            XCTAssertEqual(error as? SSTError,
                           .missingFile(path: dir.appendingPathComponent("stsa.binary.dev").path, format: "stsa"))
        }
        XCTAssertThrowsError(try SSTFormat.named("csv"))
        XCTAssertEqual(try SSTFormat.named("senteval"), .sentEval)
    }
}
