import Datasets
import Foundation
import XCTest

/// Files reached through symbolic links, directories and FIFOs where files belong, empty SST
/// training files: each is read correctly or refused with a message that names the file.
final class DataFileKindTests: XCTestCase {
    func writeCIFAR(_ dir: URL) throws {
        let record = Data([3] + (0..<3072).map { UInt8($0 % 251) })
        for name in CIFAR10.trainFileNames + [CIFAR10.testFileName] {
            try (record + record).write(to: dir.appendingPathComponent(name))
        }
        try CIFAR10.canonicalClassNames.joined(separator: "\n").write(to: dir.appendingPathComponent(CIFAR10.metaFileName),
                                                                      atomically: true, encoding: .utf8)
    }

    func testCIFARFilesReachedThroughSymlinksAreMeasuredAtTheirTarget() throws {
        let real = try makeTempDir(self, "cifarReal"), linked = try makeTempDir(self, "cifarLinked")
        try writeCIFAR(real)
        for name in CIFAR10.allFileNames {
            try FileManager.default.createSymbolicLink(at: linked.appendingPathComponent(name),
                                                       withDestinationURL: real.appendingPathComponent(name))
        }
        let data = try CIFAR10.load(from: linked)
        XCTAssertEqual(data.recordCounts, [2, 2, 2, 2, 2, 2])
        XCTAssertEqual(data.train.count, 10)
    }

    func testDirectoryOrFIFOInPlaceOfACIFARFileIsNamed() throws {
        let dir = try makeTempDir(self)
        try writeCIFAR(dir)
        let batch = dir.appendingPathComponent("data_batch_2.bin")
        try FileManager.default.removeItem(at: batch)
        try FileManager.default.createDirectory(at: batch, withIntermediateDirectories: false)
        let m = thrownMessage { _ = try CIFAR10.load(from: dir) }
        XCTAssertTrue(m.contains(batch.path) && m.contains("is a directory"), m)
        try FileManager.default.removeItem(at: batch)
        XCTAssertEqual(mkfifo(batch.path, 0o600), 0)
        let f = thrownMessage { _ = try CIFAR10.load(from: dir) }
        XCTAssertTrue(f.contains(batch.path) && f.contains("FIFO"), f)
    }

    func testEmptySSTTrainingFileIsRefused() throws {
        let dir = try makeTempDir(self)
        try Data().write(to: dir.appendingPathComponent("stsa.binary.train"))
        try Data("1 fine\n".utf8).write(to: dir.appendingPathComponent("stsa.binary.dev"))
        try Data("0 poor\n".utf8).write(to: dir.appendingPathComponent("stsa.binary.test"))
        let m = thrownMessage { _ = try SSTReader.load(directory: dir, format: .stsaBinary) }
        XCTAssertTrue(m.contains("stsa.binary.train") && m.contains("no examples"), m)
        try Data("1 good\n".utf8).write(to: dir.appendingPathComponent("stsa.binary.train"))
        XCTAssertEqual(try SSTReader.load(directory: dir, format: .stsaBinary).train.count, 1)
    }

    func testSSTFileThatIsADirectoryIsNamed() throws {
        let dir = try makeTempDir(self)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("stsa.binary.train"), withIntermediateDirectories: false)
        let m = thrownMessage { _ = try SSTReader.read(dir.appendingPathComponent("stsa.binary.train"), format: .stsaBinary, split: .train) }
        XCTAssertTrue(m.contains("is a directory"), m)
    }
}
