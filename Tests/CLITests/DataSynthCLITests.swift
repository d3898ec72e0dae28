import Foundation
import XCTest

/// `sidenet data synth cifar10|sst`: files in the real formats with the requested counts, marked
/// synthetic; deterministic for a seed; out-of-range counts fail naming the option.
final class DataSynthCLITests: XCTestCase {
    func testCIFARWritesBinaryBatchesOfTheRequestedSize() throws {
        let s = CLIScratch("synth-cifar"); defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "c", "--train", "25", "--test", "7", "--seed", "4"],
                                             cwd: s.dir))
        XCTAssertTrue(out.lowercased().contains("synthetic"), out)
        var trainBytes = 0
        for i in 1...5 {
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: s.path("c/data_batch_\(i).bin"))[.size] as? Int)
            XCTAssertEqual(size % 3073, 0, "data_batch_\(i).bin holds whole 1+3072-byte records")
            trainBytes += size
        }
        XCTAssertEqual(trainBytes, 25 * 3073)
        let test = try Data(contentsOf: URL(fileURLWithPath: s.path("c/test_batch.bin")))
        XCTAssertEqual(test.count, 7 * 3073)
        for r in 0..<7 { XCTAssertLessThan(test[r * 3073], 10, "label byte of record \(r)") }
        let meta = try String(contentsOfFile: s.path("c/batches.meta.txt"), encoding: .utf8)
        XCTAssertEqual(meta.split(separator: "\n").count, 10, meta)
        let readme = try String(contentsOfFile: s.path("c/README.txt"), encoding: .utf8)
        XCTAssertTrue(readme.lowercased().contains("synthetic"), readme)
        // the same seed writes the same bytes
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "d", "--train", "25", "--test", "7", "--seed", "4"], cwd: s.dir))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: s.path("d/test_batch.bin"))), test)
    }

    func testSSTWritesSplitsAndVocabulary() throws {
        let s = CLIScratch("synth-sst"); defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["data", "synth", "sst", "--out", "t", "--count", "50", "--seed", "2"], cwd: s.dir))
        XCTAssertTrue(out.contains("wrote synthetic SST"), out)
        var total = 0
        for split in ["train", "dev", "test"] {
            let lines = try String(contentsOfFile: s.path("t/stsa.binary.\(split)"), encoding: .utf8).split(separator: "\n")
            XCTAssertGreaterThan(lines.count, 0, split)
            for l in lines {
                XCTAssertTrue(l.hasPrefix("0 ") || l.hasPrefix("1 "), "stsa line '<label> <sentence>': \(l)")
            }
            total += lines.count
        }
        XCTAssertEqual(total, 50)
        let vocab = try String(contentsOfFile: s.path("t/vocab.txt"), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(vocab[101], "[CLS]"); XCTAssertEqual(vocab[102], "[SEP]")
        XCTAssertTrue(try String(contentsOfFile: s.path("t/README.txt"), encoding: .utf8).lowercased().contains("synthetic"))
    }

    func testTooFewExamplesFail() throws {
        let s = CLIScratch("synth-bad"); defer { s.cleanup() }
        assertRejected(try sidenet(["data", "synth", "cifar10", "--out", "c", "--train", "2"], cwd: s.dir), mentions: ["--train"])
        assertRejected(try sidenet(["data", "synth", "sst", "--out", "t", "--count", "1"], cwd: s.dir), mentions: ["--count"])
        assertRejected(try sidenet(["data", "synth", "sst", "--out", "t", "--hard-fraction", "1.5"], cwd: s.dir),
                           mentions: ["--hard-fraction"])
        XCTAssertFalse(s.exists("c") || s.exists("t"), "nothing written on a rejected command")
        assertRejected(try sidenet(["data", "synth", "mnist"], cwd: s.dir), mentions: ["mnist"])
    }
}
