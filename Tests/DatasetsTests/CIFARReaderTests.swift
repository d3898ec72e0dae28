import Datasets
import Foundation
import XCTest

/// The CIFAR-10 binary reader on hand-built bytes, generated files and every error case.
final class CIFARReaderTests: XCTestCase {
    /// Pixel byte of the hand-built record `r` at (c,y,x): distinct enough to catch any mix-up.
    static func knownByte(record r: Int, c: Int, y: Int, x: Int) -> UInt8 {
        UInt8((c * 101 + y * 7 + x * 3 + r * 31) % 256)
    }

    /// Raw file bytes built independently of the library: label, then R, G, B planes.
    static func handBuiltFile(labels: [UInt8], firstRecord: Int) -> Data {
        var d = Data()
        for (k, label) in labels.enumerated() {
            d.append(label)
            for c in 0..<3 { for y in 0..<32 { for x in 0..<32 {
                d.append(knownByte(record: firstRecord + k, c: c, y: y, x: x))
            } } }
        }
        return d
    }

    /// data_batch_1 holds 2 records, data_batch_2...5 one each, test_batch 3.
    func writeHandBuiltDirectory(_ dir: URL, meta: String? = nil) throws {
        let counts = [2, 1, 1, 1, 1]
        var r = 0
        for (f, n) in counts.enumerated() {
            let labels = (0..<n).map { UInt8((r + $0) % 10) }
            try Self.handBuiltFile(labels: labels, firstRecord: r)
                .write(to: dir.appendingPathComponent("data_batch_\(f + 1).bin"))
            r += n
        }
        try Self.handBuiltFile(labels: [9, 0, 5], firstRecord: 100).write(to: dir.appendingPathComponent("test_batch.bin"))
        let names = meta ?? "airplane\nautomobile\nbird\ncat\ndeer\n  \ndog\nfrog\nhorse\nship\ntruck\n\n\n"
        try names.write(to: dir.appendingPathComponent("batches.meta.txt"), atomically: true, encoding: .utf8)
    }

    func testHandBuiltFilePixelPlacement() throws {
        let dir = try makeTempDir(self)
        try writeHandBuiltDirectory(dir)
        let data = try CIFAR10.load(from: dir)
        XCTAssertEqual(data.recordCounts, [2, 1, 1, 1, 1, 3])
        XCTAssertEqual(data.train.count, 6)
        XCTAssertEqual(data.train.labels, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(data.test.labels, [9, 0, 5])
        XCTAssertEqual(data.classNames, CIFAR10.canonicalClassNames)
        for (i, (c, y, x)) in [(0, 0, 0), (0, 0, 31), (0, 1, 0), (1, 0, 0), (2, 31, 31), (1, 17, 5)].enumerated() {
            let r = i % 6
            XCTAssertEqual(data.train.pixel(r, c: c, y: y, x: x), Self.knownByte(record: r, c: c, y: y, x: x),
                           "train record \(r) pixel (\(c),\(y),\(x))")
        }
        XCTAssertEqual(data.test.pixel(2, c: 2, y: 3, x: 4), Self.knownByte(record: 102, c: 2, y: 3, x: 4))
        // Same placement seen through the file bytes: offset 1 + c*1024 + y*32 + x.
        let raw = try Data(contentsOf: dir.appendingPathComponent("data_batch_1.bin"))
        XCTAssertEqual(raw[3073 + 1 + 2 * 1024 + 5 * 32 + 9], data.train.pixel(1, c: 2, y: 5, x: 9))
        // Float conversion: byte / 255 at the same (c,y,x).
        let f = data.train.floatImages([1, 0])
        XCTAssertEqual(f.shape, [2, 3, 32, 32])
        XCTAssertEqual(f[0, 2, 5, 9], Float(Self.knownByte(record: 1, c: 2, y: 5, x: 9)) / 255, accuracy: 1e-7)
        XCTAssertEqual(f[1, 1, 31, 0], Float(Self.knownByte(record: 0, c: 1, y: 31, x: 0)) / 255, accuracy: 1e-7)
    }

    func testAcceptsParentDirectoryAndRoundTripsWriter() throws {
        let parent = try makeTempDir(self)
        let dir = parent.appendingPathComponent("cifar-10-batches-bin")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try writeHandBuiltDirectory(dir)
        let data = try CIFAR10.load(from: parent)
        XCTAssertEqual(data.directory.lastPathComponent, "cifar-10-batches-bin")
        let copy = parent.appendingPathComponent("copy.bin")
        try CIFAR10.writeFile(data.test, to: copy)
        XCTAssertEqual(try Data(contentsOf: copy), try Data(contentsOf: dir.appendingPathComponent("test_batch.bin")))
    }

    func testReadsGeneratedStandInFiles() throws {
        let dir = try makeTempDir(self)
        let s = try SyntheticCIFAR.write(to: dir, trainCount: 53, testCount: 20, seed: 9, hardFraction: 0.5)
        XCTAssertEqual(s.trainRecordsPerFile, [11, 11, 11, 10, 10])
        let data = try CIFAR10.load(from: dir)
        XCTAssertEqual(data.recordCounts, [11, 11, 11, 10, 10, 20])
        XCTAssertEqual(data.train.count, 53)
        XCTAssertEqual(data.test.classCounts(), [Int](repeating: 2, count: 10))
        let gen = SyntheticCIFAR.generate(count: 53, seed: 9, hardFraction: 0.5, split: "train")
        XCTAssertEqual(data.train, gen.images)
        let diff = try SyntheticCIFAR.readDifficulty(from: dir)
        XCTAssertEqual(diff.train, gen.hard)
        XCTAssertEqual(diff.test.filter { $0 }.count, 10)
        let readme = try String(contentsOf: dir.appendingPathComponent("README.txt"), encoding: .utf8)
        XCTAssertTrue(readme.contains("SYNTHETIC STAND-IN DATA - NOT CIFAR-10"), readme)
        // The strict check wants the real 30,730,000-byte files.
        let msg = thrownMessage { _ = try CIFAR10.load(from: dir, sizeCheck: .exact) }
        XCTAssertTrue(msg.contains("data_batch_1.bin") && msg.contains("30,730,000") && msg.contains("33803"), msg)
    }

    func testMissingDirectoryNamesFilesAndDownload() {
        let msg = thrownMessage { _ = try CIFAR10.load(from: URL(fileURLWithPath: "/nonexistent/cifar")) }
        for needle in ["/nonexistent/cifar", "data_batch_1.bin", "data_batch_5.bin", "test_batch.bin",
                       "batches.meta.txt", "https://www.cs.toronto.edu/~kriz/cifar.html",
                       "cifar-10-binary.tar.gz", "cifar-10-batches-bin"] {
            XCTAssertTrue(msg.contains(needle), "missing \"\(needle)\" in: \(msg)")
        }
    }

    func testMissingFilesAreListed() throws {
        let dir = try makeTempDir(self)
        try writeHandBuiltDirectory(dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("data_batch_4.bin"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("test_batch.bin"))
        do {
            _ = try CIFAR10.load(from: dir)
            XCTFail("expected missingFiles")
        } catch let e as CIFARError {
            XCTAssertEqual(e, .missingFiles(directory: dir.path, files: ["data_batch_4.bin", "test_batch.bin"]))
            XCTAssertTrue("\(e)".contains("cifar-10-binary.tar.gz"), "\(e)")
        }
    }

    func testMissingMetaFile() throws {
        let dir = try makeTempDir(self)
        try writeHandBuiltDirectory(dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("batches.meta.txt"))
        let msg = thrownMessage { _ = try CIFAR10.load(from: dir) }
        XCTAssertTrue(msg.contains(dir.appendingPathComponent("batches.meta.txt").path) && msg.contains("class-name"), msg)
    }

    func testWrongNumberOfClassNames() throws {
        let dir = try makeTempDir(self)
        try writeHandBuiltDirectory(dir, meta: "a\nb\n\nc\n")
        XCTAssertThrowsError(try CIFAR10.load(from: dir)) { e in
            XCTAssertEqual(e as? CIFARError, .badClassNames(path: dir.appendingPathComponent("batches.meta.txt").path,
                                                            found: ["a", "b", "c"]))
        }
    }

    func testTruncatedFile() throws {
        let dir = try makeTempDir(self)
        try writeHandBuiltDirectory(dir)
        let f = dir.appendingPathComponent("data_batch_1.bin")
        try Data(try Data(contentsOf: f).prefix(2 * 3073 - 100)).write(to: f)
        let msg = thrownMessage { _ = try CIFAR10.load(from: dir) }
        XCTAssertTrue(msg.contains("data_batch_1.bin") && msg.contains("6046 bytes") && msg.contains("multiple of 3,073"), msg)
        try Data().write(to: f)
        let empty = thrownMessage { _ = try CIFAR10.load(from: dir) }
        XCTAssertTrue(empty.contains("data_batch_1.bin") && empty.contains("0 bytes"), empty)
    }

    func testLabelOutOfRangeNamesFileAndRecord() throws {
        let dir = try makeTempDir(self)
        try writeHandBuiltDirectory(dir)
        var bad = Self.handBuiltFile(labels: [1, 2, 3], firstRecord: 0)
        bad[2 * 3073] = 10
        try bad.write(to: dir.appendingPathComponent("data_batch_3.bin"))
        XCTAssertThrowsError(try CIFAR10.load(from: dir)) { e in
            XCTAssertEqual(e as? CIFARError, .labelOutOfRange(path: dir.appendingPathComponent("data_batch_3.bin").path,
                                                              record: 2, label: 10))
            let msg = "\(e)"
            XCTAssertTrue(msg.contains("data_batch_3.bin") && msg.contains("record 2") && msg.contains("label 10"), msg)
        }
    }
}
