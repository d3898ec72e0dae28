import Foundation
import XCTest
import WeightIO

/// Hand-built archives exercising the parts of the zip reader torch's small files do not:
/// ZIP64 extra fields in the central directory, a local extra field longer than the central one,
/// a classic-only end record, and a comment after the end record.
final class ZipTests: XCTestCase {
    private func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// Stored entries; `zip64` puts 0xFFFFFFFF in the central sizes/offset and the real values
    /// in a ZIP64 extra field, and adds a ZIP64 end record + locator.
    private func archive(_ members: [(String, [UInt8])], zip64: Bool, localPad: Int, comment: String = "") -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        for (name, data) in members {
            let offset = out.count
            let nameBytes = Array(name.utf8)
            let localExtra = localPad > 0 ? le(0x4246, 2) + le(UInt64(localPad), 2) + [UInt8](repeating: 0x5A, count: localPad) : []
            out += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
            out += le(UInt64(data.count), 4) + le(UInt64(data.count), 4) + le(UInt64(nameBytes.count), 2) + le(UInt64(localExtra.count), 2)
            out += nameBytes + localExtra + data
            let big: UInt64 = 0xFFFF_FFFF
            let extra = zip64 ? le(1, 2) + le(24, 2) + le(UInt64(data.count), 8) + le(UInt64(data.count), 8) + le(UInt64(offset), 8) : []
            central += le(0x0201_4b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
            central += le(zip64 ? big : UInt64(data.count), 4) + le(zip64 ? big : UInt64(data.count), 4)
            central += le(UInt64(nameBytes.count), 2) + le(UInt64(extra.count), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4)
            central += le(zip64 ? big : UInt64(offset), 4) + nameBytes + extra
        }
        let cdOffset = out.count
        out += central
        if zip64 {
            let z64 = out.count
            out += le(0x0606_4b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4)
            out += le(UInt64(members.count), 8) + le(UInt64(members.count), 8) + le(UInt64(central.count), 8) + le(UInt64(cdOffset), 8)
            out += le(0x0706_4b50, 4) + le(0, 4) + le(UInt64(z64), 8) + le(1, 4)
        }
        let c = Array(comment.utf8)
        out += le(0x0605_4b50, 4) + le(0, 2) + le(0, 2)
        out += le(zip64 ? 0xFFFF : UInt64(members.count), 2) + le(zip64 ? 0xFFFF : UInt64(members.count), 2)
        out += le(zip64 ? 0xFFFF_FFFF : UInt64(central.count), 4) + le(zip64 ? 0xFFFF_FFFF : UInt64(cdOffset), 4) + le(UInt64(c.count), 2) + c
        return out
    }

    /// Re-packs tiny_zip.pth's members into a hand-built archive and loads it.
    private func repacked(zip64: Bool, localPad: Int, comment: String = "") throws -> URL {
        let src = try ZipArchive(data: Data(contentsOf: Fixture.url("tiny_zip.pth")), file: "tiny_zip.pth")
        let members = try src.entries.map { e -> (String, [UInt8]) in
            (e.name.replacingOccurrences(of: "tiny_zip/", with: "some.dir-name/"), [UInt8](try src.contents(of: e)))
        }
        return try Fixture.temp(archive(members, zip64: zip64, localPad: localPad, comment: comment), name: "re.pth")
    }

    func testZip64ExtraFieldsAndEndRecord() throws {
        let url = try repacked(zip64: true, localPad: 37)
        let zip = try ZipArchive(data: Data(contentsOf: url), file: url.path)
        XCTAssertEqual(zip.entry(named: "some.dir-name/data.pkl")?.localHeaderOffset, 0)
        XCTAssertEqual(zip.entries.count, 14)
        try assertMatchesExpected(try TorchFile.load(url), "tiny_zip")
    }

    func testClassicEndRecordWithCommentAndLocalPadding() throws {
        let url = try repacked(zip64: false, localPad: 5, comment: "made by hand")
        try assertMatchesExpected(try TorchFile.load(url), "tiny_zip")
    }

    func testMissingDataPickle() throws {
        let url = try Fixture.temp(archive([("x/version", Array("3\n".utf8))], zip64: false, localPad: 0), name: "nopkl.pth")
        let e = thrownError { try TorchFile.load(url) }
        guard case .missingDataPickle? = e as? TorchFileError else { return XCTFail("\(String(describing: e))") }
    }

    func testEntryBeyondEndOfFile() throws {
        var b = archive([("x/data.pkl", [0x80, 0x02, 0x7D, 0x2E])], zip64: false, localPad: 0)
        // Central directory claims 400 bytes for the 4-byte member (sizes at central offset +20/+24).
        let cd = b.count - 22 - (46 + 10)
        b.replaceSubrange((cd + 20)..<(cd + 28), with: le(400, 4) + le(400, 4))
        let e = thrownError { try TorchFile.load(try Fixture.temp(b, name: "long.pth")) }
        guard case .entryOutOfBounds(_, "x/data.pkl")? = e as? ZipError else { return XCTFail("\(String(describing: e))") }
    }
}
