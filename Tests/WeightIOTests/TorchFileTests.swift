import Foundation
import XCTest
import WeightIO

final class TorchFileTests: XCTestCase {
    // MARK: files written by torch.save

    func testZipSavedToPathHasBasenamePrefix() throws {
        let zip = try ZipArchive(data: Data(contentsOf: Fixture.url("tiny_zip.pth")), file: "tiny_zip.pth")
        XCTAssertNotNil(zip.entry(named: "tiny_zip/data.pkl"))
        try assertMatchesExpected(try TorchFile.load(Fixture.url("tiny_zip.pth")), "tiny_zip")
    }

    func testZipSavedToStreamHasArchivePrefix() throws {
        let zip = try ZipArchive(data: Data(contentsOf: Fixture.url("tiny_stream.pth")), file: "tiny_stream.pth")
        XCTAssertNotNil(zip.entry(named: "archive/data.pkl"))
        try assertMatchesExpected(try TorchFile.load(Fixture.url("tiny_stream.pth")), "tiny_stream")
    }

    func testLegacyFormat() throws {
        let t = try TorchFile.load(Fixture.url("tiny_legacy.pth"))
        try assertMatchesExpected(t, "tiny_legacy")
        XCTAssertEqual(try t["bn.num_batches_tracked"]!.int64s(), [3])
        XCTAssertEqual(t["bn.num_batches_tracked"]!.shape, [])
    }

    func testSharedStoragesOffsetsParametersAndDTypes() throws {
        try assertMatchesExpected(try TorchFile.load(Fixture.url("shared.pth")), "shared")
    }

    func testSharedStoragesLegacy() throws {
        try assertMatchesExpected(try TorchFile.load(Fixture.url("shared_legacy.pth")), "shared_legacy")
    }

    func testNestedStateDictByKeyAndByDefault() throws {
        try assertMatchesExpected(try TorchFile.load(Fixture.url("nested.pth"), key: "model"), "nested")
        try assertMatchesExpected(try TorchFile.load(Fixture.url("nested.pth")), "nested")
        let missing = thrownError { try TorchFile.load(Fixture.url("nested.pth"), key: "state_dict") }
        guard case .keyNotFound(_, "state_dict", let keys)? = missing as? TorchFileError else { return XCTFail("\(String(describing: missing))") }
        XCTAssertEqual(keys, ["epoch", "lr", "model", "tags", "best"])
        let notDict = thrownError { try TorchFile.load(Fixture.url("nested.pth"), key: "epoch") }
        guard case .notADictionary? = notDict as? TorchFileError else { return XCTFail("\(String(describing: notDict))") }
        let notTensor = thrownError { try TorchFile.load(Fixture.url("tiny_zip.pth"), key: "conv.weight") }
        guard case .notADictionary? = notTensor as? TorchFileError else { return XCTFail("\(String(describing: notTensor))") }
    }

    func testWeightFileDetectsEveryFormat() throws {
        try assertMatchesExpected(try WeightFile.load(Fixture.url("tiny.safetensors")), "tiny_safetensors")
        try assertMatchesExpected(try WeightFile.load(Fixture.url("tiny_zip.pth")), "tiny_zip")
        try assertMatchesExpected(try WeightFile.load(Fixture.url("tiny_legacy.pth")), "tiny_legacy")
        try assertMatchesExpected(try WeightFile.load(Fixture.url("nested.pth"), key: "model"), "nested")

        var tar = [UInt8](repeating: 0, count: 1024)
        tar.replaceSubrange(257..<262, with: Array("ustar".utf8))
        let tarErr = thrownError { try WeightFile.load(try Fixture.temp(tar, name: "old.pth")) }
        guard case .tarFormat? = tarErr as? WeightFileError else { return XCTFail("\(String(describing: tarErr))") }
        let junk = thrownError { try WeightFile.load(try Fixture.temp(Array("hello world".utf8), name: "j.bin")) }
        guard case .unknownFormat? = junk as? WeightFileError else { return XCTFail("\(String(describing: junk))") }
        let st = thrownError { try TorchFile.load(Fixture.url("tiny.safetensors")) }
        guard case .notATorchFile? = st as? TorchFileError else { return XCTFail("\(String(describing: st))") }
    }

    // MARK: rejected files

    func testRejectsNonContiguousTensor() {
        let e = thrownError { try TorchFile.load(Fixture.url("noncontig.pth")) }
        guard case let .nonContiguous(_, name, size, stride)? = e as? TorchFileError else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(name, "t")
        XCTAssertEqual(size, [4, 3])
        XCTAssertEqual(stride, [1, 4])
    }

    func testRefusesForbiddenGlobalInZip() {
        let e = thrownError { try TorchFile.load(Fixture.url("evil_global.pth")) }
        guard case let .forbiddenGlobal(_, name, offset)? = e as? PickleError else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(name, "os.system")
        XCTAssertEqual(offset, 2)
        XCTAssertTrue("\(e!)".contains("os.system"))
    }

    func testRefusesForbiddenGlobalInLegacyStream() throws {
        // magic, protocol 1001, sys_info {}, then an object pickle naming builtins.eval via STACK_GLOBAL.
        var b = [UInt8](repeating: 0, count: 0)
        b += [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        b += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
        b += [0x80, 0x02, 0x7D, 0x2E]
        b += [0x80, 0x04, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93, 0x2E]
        let e = thrownError { try TorchFile.load(try Fixture.temp(b, name: "evil_legacy.pth")) }
        guard case .forbiddenGlobal(_, "builtins.eval", _)? = e as? PickleError else { return XCTFail("\(String(describing: e))") }
    }

    func testRefusesUnknownOpcode() throws {
        var zip = try Fixture.bytes("evil_global.pth")
        // Replace the GLOBAL opcode 'c' at data.pkl offset 2 by INST 'i' (not in the subset), same length.
        let pkl = Array("cos\nsystem\n".utf8)
        let at = zip.firstRange(of: pkl)!.lowerBound
        zip[at] = UInt8(ascii: "i")
        // The zip reader does not check CRCs, so the patched member is read as is.
        let e = thrownError { try TorchFile.load(try Fixture.temp(zip, name: "inst.pth")) }
        guard case .unknownOpcode(_, UInt8(ascii: "i"), 2)? = e as? PickleError else { return XCTFail("\(String(describing: e))") }
    }

    func testRejectsCompressedEntry() {
        let e = thrownError { try TorchFile.load(Fixture.url("deflated.pth")) }
        guard case let .compressedEntry(_, entry, method)? = e as? ZipError else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(entry, "tiny_zip/data.pkl")
        XCTAssertEqual(method, 8)
    }

    func testRejectsTruncatedZip() throws {
        let good = try Fixture.bytes("tiny_zip.pth")
        // Cut inside the storage records: no end-of-central-directory record remains.
        let e1 = thrownError { try TorchFile.load(try Fixture.temp(Array(good.prefix(2000)), name: "cut.pth")) }
        guard case .missingEndOfCentralDirectory? = e1 as? ZipError else { return XCTFail("\(String(describing: e1))") }
        // Drop bytes in the middle (central directory now points past the data): out of bounds / bad signature.
        let spliced = Array(good.prefix(1500)) + Array(good.suffix(from: 2500))
        let e2 = thrownError { try TorchFile.load(try Fixture.temp(spliced, name: "spliced.pth")) }
        XCTAssertTrue(e2 is ZipError, "\(String(describing: e2))")
    }

    func testRejectsStorageRecordOfWrongSize() throws {
        // Claim 25 elements for storage 0 of shared.pth (it has 24): patch BININT1 24 after the key '0'.
        var b = try Fixture.bytes("shared.pth")
        let pattern: [UInt8] = [0x58, 1, 0, 0, 0, UInt8(ascii: "0"), 0x71, 5, 0x58, 3, 0, 0, 0] + Array("cpu".utf8) + [0x71, 6, 0x4B, 24]
        let r = b.firstRange(of: pattern)!
        b[r.upperBound - 1] = 25
        let e = thrownError { try TorchFile.load(try Fixture.temp(b, name: "size.pth")) }
        guard case .storageSizeMismatch(_, "shared/data/0", 100, 96)? = e as? TorchFileError else { return XCTFail("\(String(describing: e))") }
    }

    func testRejectsTensorBeyondStorage() throws {
        // tiny_zip's fc.bias has 3 elements in its own storage; give it size (4,) instead.
        var b = try Fixture.bytes("shared.pth")
        // 'tail' = base[20:], offset 20, size (4,): bump the size to 5 -> needs elements up to 25 of 24.
        let pattern: [UInt8] = [0x4B, 20, 0x4B, 4, 0x85]
        let r = b.firstRange(of: pattern)!
        b[r.lowerBound + 3] = 5
        let e = thrownError { try TorchFile.load(try Fixture.temp(b, name: "oob.pth")) }
        guard case .tensorOutOfBounds(_, "tail", 25, 24)? = e as? TorchFileError else { return XCTFail("\(String(describing: e))") }
    }

    func testRejectsTruncatedLegacyStream() throws {
        let good = try Fixture.bytes("tiny_legacy.pth")
        let e = thrownError { try TorchFile.load(try Fixture.temp(Array(good.dropLast(5)), name: "cut_legacy.pth")) }
        guard case .legacyStorageData? = e as? TorchFileError else { return XCTFail("\(String(describing: e))") }
        let e2 = thrownError { try TorchFile.load(try Fixture.temp(good + [1, 2], name: "long_legacy.pth")) }
        guard case .trailingBytes(_, 2)? = e2 as? TorchFileError else { return XCTFail("\(String(describing: e2))") }
        let e3 = thrownError { try TorchFile.load(try Fixture.temp(Array(good.prefix(100)), name: "cut2_legacy.pth")) }
        guard case .truncated? = e3 as? PickleError else { return XCTFail("\(String(describing: e3))") }
    }

    func testErrorMessagesAreOneLineAndNameTheFile() {
        for f in ["noncontig.pth", "evil_global.pth", "deflated.pth"] {
            let e = thrownError { try WeightFile.load(Fixture.url(f)) }
            let text = "\(e!)"
            XCTAssertTrue(text.contains(f), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
    }
}

final class WeightSummaryTests: XCTestCase {
    /// conv 4*3*3*3 = 108, bn weight+bias 8, fc 12+3 = 15 -> 131 parameters; buffers 4+4+1 = 9 more elements.
    func testCountsExcludeBatchNormBuffers() throws {
        let s = WeightSummary(try WeightFile.load(Fixture.url("tiny_zip.pth")))
        XCTAssertEqual(s.tensorCount, 8)
        XCTAssertEqual(s.elementCount, 140)
        XCTAssertEqual(s.parameterCount, 131)
        XCTAssertFalse(WeightSummary.isParameter(name: "layer1.0.bn1.running_var", dtype: .F32))
        XCTAssertFalse(WeightSummary.isParameter(name: "embeddings.position_ids", dtype: .I64))
        XCTAssertTrue(WeightSummary.isParameter(name: "fc.weight", dtype: .F16))
    }
}
