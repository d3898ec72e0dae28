import Foundation
import WeightIO
import XCTest

/// Crafted files that once crashed the process (stack overflow, trap) or gave a vague message.
final class HostileInputTests: XCTestCase {
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
    /// Magic, protocol 1001, an empty sys_info dict: the legacy stream up to its root pickle.
    static let legacyHead: [UInt8] = legacyMagic + [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E] + [0x80, 0x02, 0x7D, 0x2E]

    /// 30,000 levels: a ~60 KB pickle whose values overflowed the stack when released.
    static func deepPickles(_ n: Int = 30_000) -> [String: [UInt8]] {
        let proto: [UInt8] = [0x80, 0x02]
        return [
            "lists": proto + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E],
            "tuples": proto + [0x29] + [UInt8](repeating: 0x85, count: n) + [0x2E],
            "dicts": proto + [0x7D] + (0..<n).flatMap { _ in [0x4B, 0x01, 0x7D] as [UInt8] } + [UInt8](repeating: 0x73, count: n) + [0x2E],
        ]
    }

    func testDeeplyNestedPicklesAreRefusedNotOverflowed() throws {
        for (kind, pickle) in Self.deepPickles() {
            let url = try Fixture.temp(Self.legacyHead + pickle, name: "deep-\(kind).pth")
            let message = "\(String(describing: thrownError { try WeightFile.load(url) }))"
            XCTAssertTrue(message.contains(url.path) && message.contains("nested deeper than"), "\(kind): \(message)")
            XCTAssertThrowsError(try PickleReader.check(Data(pickle), file: "deep-\(kind).pkl")) { e in
                XCTAssertTrue("\(e)".hasPrefix("deep-\(kind).pkl: pickle at offset"), "\(e)")
            }
        }
    }

    func testShallowNestingStillLoads() throws {
        for (kind, pickle) in Self.deepPickles(50) {
            XCTAssertNoThrow(try PickleReader.check(Data(pickle), file: kind), kind)
        }
    }

    func testListFilledAfterBeingNestedIsRefused() {
        // ] q0 ] q1 a h1 ] a .  : the inner list is appended to after it went into the outer one.
        let p: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x5D, 0x71, 0x01, 0x61, 0x68, 0x01, 0x5D, 0x61, 0x68, 0x00, 0x2E]
        XCTAssertThrowsError(try PickleReader.check(Data(p), file: "refill.pkl")) { e in
            XCTAssertTrue("\(e)".contains("already nested"), "\(e)")
        }
    }

    func testContainersHoldingThemselvesAreRefused() {
        // ] q0 h0 a . (a list appended to itself) and } q0 h0 K1 h0 s . (a dict as its own value):
        // reference cycles that were never freed.
        let list: [UInt8] = [0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]
        let dict: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x68, 0x00, 0x4B, 0x01, 0x68, 0x00, 0x73, 0x2E]
        for (p, kind) in [(list, "list"), (dict, "dict")] {
            XCTAssertThrowsError(try PickleReader.check(Data(p), file: "self.pkl")) { e in
                XCTAssertTrue("\(e)".contains("a \(kind) contains itself"), "\(e)")
            }
        }
    }

    func testOneStorageViewedAsTwoDTypesNamesTheTensor() throws {
        let url = Fixture.dir.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/torch/crash-storage-two-dtypes.pth")
        let e = thrownError { try WeightFile.load(url) }
        guard case let .storageDTypeConflict(_, tensor, storage, td, sd)? = e as? TorchFileError else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual([tensor, storage, td.rawValue, sd.rawValue], ["b", "0", "F64", "F32"])
        // The same file with one dtype loads.
        let ok = url.deletingLastPathComponent().appendingPathComponent("ok-one-storage.pth")
        XCTAssertEqual(try WeightFile.load(ok).keys.sorted(), ["a", "b"])
    }

    func testSafetensorsHeaderLongerThanFileGetsTheSafetensorsError() throws {
        var bytes = try Fixture.bytes("tiny.safetensors")
        let huge: UInt64 = UInt64(bytes.count) + 100
        for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: huge >> (8 * UInt64(i))) }
        let url = try Fixture.temp(bytes, name: "long-header.safetensors")
        let e = thrownError { try WeightFile.load(url) }
        guard case .invalidHeaderLength? = e as? SafeTensorsError else { return XCTFail("\(String(describing: e))") }
    }

    func testDirectoryAndFIFOAreNamedAsSuch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sidenet-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("weights.pth")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        for (url, needle) in [(dir, "is a directory"), (fifo, "is a FIFO")] {
            XCTAssertTrue("\(String(describing: thrownError { try WeightFile.load(url) }))".contains(needle))
            XCTAssertTrue("\(String(describing: thrownError { try SafeTensorsFile(contentsOf: url) }))".contains(needle))
        }
    }
}
