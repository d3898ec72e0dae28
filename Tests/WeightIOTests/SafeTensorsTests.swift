import Foundation
import XCTest
import Tensors
import WeightIO

final class SafeTensorsTests: XCTestCase {
    // MARK: reading the library's file

    func testReadsFileWrittenBySafetensorsLibrary() throws {
        let f = try SafeTensorsFile(contentsOf: Fixture.url("tiny.safetensors"))
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.names, f.tensors.keys.sorted())
        try assertMatchesExpected(f.tensors, "tiny_safetensors")
        XCTAssertEqual(try f.tensors["bn.num_batches_tracked"]!.int64s(), [3])
    }

    func testLoadConvertsEveryTensorToFloat32() throws {
        let d = try SafeTensors.load(Fixture.url("tiny.safetensors"))
        let want = try Fixture.expected("tiny_safetensors")
        XCTAssertEqual(d.count, want.count)
        XCTAssertEqual(d["conv.weight"]!.shape, [4, 3, 3, 3])
        XCTAssertEqual(d["conv.weight"]!.data, want["conv.weight"]!.values.map { Float($0) })
        XCTAssertEqual(d["half"]!.data, want["half"]!.values.map { Float($0) })
        XCTAssertEqual(d["bn.num_batches_tracked"]!.data, [3])
    }

    /// Our writer reproduces the reference writer's bytes exactly (order, JSON, padding).
    func testWriterIsByteIdenticalToReferenceWriter() throws {
        let original = try Data(contentsOf: Fixture.url("tiny.safetensors"))
        let f = try SafeTensorsFile(data: original)
        let again = try SafeTensors.encode(f.tensors, metadata: f.metadata)
        XCTAssertEqual(again, original)
    }

    func testRoundTripWriteRead() throws {
        var g = SeededGenerator(seed: 5)
        let tensors = ["w": Tensor.normal([3, 5], rng: &g), "b": Tensor.normal([5], rng: &g),
                       "s": Tensor(scalar: -1.5), "e": Tensor(zeros: [0, 4]), "q\"uote\\name": Tensor(scalar: 2)]
        let url = try Fixture.temp([], name: "round.safetensors")
        try SafeTensors.write(tensors, metadata: ["format": "pt", "note": "a\"b\n"], to: url)
        let back = try SafeTensors.load(url)
        XCTAssertEqual(back, tensors)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "a\"b\n"])
        let raw = try Data(contentsOf: url)
        let n = raw.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        XCTAssertEqual(n % 8, 0, "header length \(n) must be padded to a multiple of 8")
        // no temp file left behind
        let left = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
        XCTAssertEqual(left, ["round.safetensors"])
    }

    func testWritesInt64Tensors() throws {
        let url = try Fixture.temp([], name: "i64.safetensors")
        let stored: [String: StoredTensor] = [
            "bn.num_batches_tracked": try StoredTensor(int64s: [42], shape: []),
            "bn.weight": StoredTensor(Tensor(shape: [2], data: [1, 2])),
            "ids": try StoredTensor(int64s: [0, -1, Int64.max], shape: [1, 3]),
        ]
        try SafeTensors.write(stored, to: url)
        let f = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(f.tensors, stored)
        XCTAssertEqual(try f.tensors["ids"]!.int64s(), [0, -1, Int64.max])
        XCTAssertNotNil(thrownError { try f.tensors["bn.weight"]!.int64s() } as? StoredTensorError)
    }

    // MARK: malformed files, one error case each

    /// A safetensors file from a header string (padded with spaces to 8) and a buffer.
    private func file(_ header: String, buffer: Int, pad: Bool = true) -> [UInt8] {
        var h = Array(header.utf8)
        while pad && h.count % 8 != 0 { h.append(0x20) }
        return withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + [UInt8](repeating: 7, count: buffer)
    }

    private func reject(_ bytes: [UInt8], _ label: String, line: UInt = #line,
                        _ matches: (SafeTensorsError) -> Bool) {
        guard let url = try? Fixture.temp(bytes, name: "bad.safetensors") else { return XCTFail("temp file") }
        let e = thrownError({ try SafeTensorsFile(contentsOf: url) }, line: line)
        guard let st = e as? SafeTensorsError else { return XCTFail("\(label): wrong error type \(String(describing: e))", line: line) }
        XCTAssertTrue(matches(st), "\(label): got \(st)", line: line)
        XCTAssertTrue(st.description.contains(url.path), "\(label): message must name the file: \(st)", line: line)
        XCTAssertFalse(st.description.contains("\n"), "\(label): one line", line: line)
        let streamed = thrownError({ try SafeTensorsReader(contentsOf: url) }, line: line)
        XCTAssertEqual(streamed as? SafeTensorsError, st, "\(label): the streamed reader refuses it alike", line: line)
    }

    private let one = #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#

    func testRejectsTooSmall() {
        reject([1, 2, 3, 4, 5], "too small") { if case .headerTooSmall = $0 { return true }; return false }
    }

    func testRejectsHeaderTooLarge() {
        let b = withUnsafeBytes(of: UInt64(100_000_001).littleEndian, Array.init) + Array("{}".utf8)
        reject(b, "header too large") { if case .headerTooLarge = $0 { return true }; return false }
        let huge = withUnsafeBytes(of: UInt64.max.littleEndian, Array.init) + Array("{}".utf8)
        reject(huge, "u64 max header") { if case .headerTooLarge = $0 { return true }; return false }
    }

    func testRejectsHeaderBeyondFile() {
        let b = withUnsafeBytes(of: UInt64(1000).littleEndian, Array.init) + Array("{}      ".utf8)
        reject(b, "header beyond file") { if case .invalidHeaderLength = $0 { return true }; return false }
    }

    func testRejectsTruncatedAndTrailing() throws {
        let good = try Fixture.bytes("tiny.safetensors")
        reject(Array(good.dropLast(4)), "truncated") { if case .truncatedBuffer = $0 { return true }; return false }
        reject(Array(good.prefix(20)), "truncated header") { if case .invalidHeaderLength = $0 { return true }; return false }
        reject(good + [0, 0, 0], "trailing") { if case .trailingBytes(_, 3) = $0 { return true }; return false }
    }

    func testRejectsBadHeaderText() {
        var notUTF8 = file("{\(one)}", buffer: 8)
        notUTF8[10] = 0xFF
        reject(notUTF8, "not UTF-8") { if case .headerNotUTF8 = $0 { return true }; return false }
        reject(file(" {\(one)}", buffer: 8), "leading space") { if case .headerNotObject = $0 { return true }; return false }
        reject(file("[1]", buffer: 0), "array header") { if case .headerNotObject = $0 { return true }; return false }
        reject(file("{\(one),}", buffer: 8), "bad JSON") { if case .invalidJSON = $0 { return true }; return false }
        reject(file("{\(one)} x", buffer: 8), "junk after JSON") { if case .invalidJSON = $0 { return true }; return false }
        reject(file("{\"a\":\"\\q\"}", buffer: 0), "bad escape") { if case .invalidJSON = $0 { return true }; return false }
        reject(file("{\"a\":" + String(repeating: "[", count: 200), buffer: 0), "deep nesting") { if case .invalidJSON = $0 { return true }; return false }
    }

    func testRejectsDuplicateKeys() {
        reject(file("{\(one),\(one)}", buffer: 8), "duplicate tensor") { if case .duplicateKey(_, "a") = $0 { return true }; return false }
        let dupField = #"{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        reject(file(dupField, buffer: 8), "duplicate field") { if case .duplicateKey(_, "dtype") = $0 { return true }; return false }
    }

    func testRejectsOverlapAliasAndGap() {
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        reject(file(overlap, buffer: 12), "overlap") { if case .overlappingOffsets(_, "b", 4, 8) = $0 { return true }; return false }
        let alias = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        reject(file(alias, buffer: 8), "aliasing") { if case .overlappingOffsets = $0 { return true }; return false }
        let gap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#
        reject(file(gap, buffer: 20), "gap") { if case .gapInBuffer(_, "b", 12, 8) = $0 { return true }; return false }
        let lateStart = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        reject(file(lateStart, buffer: 12), "first tensor not at 0") { if case .gapInBuffer(_, "a", 4, 0) = $0 { return true }; return false }
        let reversed = #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#
        reject(file(reversed, buffer: 8), "END < BEGIN") { if case .invalidOffsets = $0 { return true }; return false }
    }

    func testRejectsSizeMismatchAndOverflow() {
        let mismatch = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        reject(file(mismatch, buffer: 8), "size mismatch") { if case .byteSizeMismatch(_, "a", 12, 8) = $0 { return true }; return false }
        let overflow = #"{"a":{"dtype":"F32","shape":[281474976710655,281474976710655],"data_offsets":[0,8]}}"#
        reject(file(overflow, buffer: 8), "overflow") { if case .shapeOverflow = $0 { return true }; return false }
        let bytesOverflow = #"{"a":{"dtype":"F64","shape":[281474976710655,65536],"data_offsets":[0,8]}}"#
        reject(file(bytesOverflow, buffer: 8), "byte overflow") { if case .shapeOverflow = $0 { return true }; return false }
    }

    func testRejectsBadEntries() {
        func entry(_ body: String) -> [UInt8] { file("{\"a\":{\(body)}}", buffer: 8) }
        reject(entry(#""dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]"#), "unknown dtype") { if case .unknownDType(_, "a", "F8_E4M3") = $0 { return true }; return false }
        reject(entry(#""dtype":"F32","shape":[-2],"data_offsets":[0,8]"#), "negative dim") { if case .invalidDimension(_, "a", "-2") = $0 { return true }; return false }
        reject(entry(#""dtype":"F32","shape":[2.0],"data_offsets":[0,8]"#), "fractional dim") { if case .invalidDimension = $0 { return true }; return false }
        reject(entry(#""dtype":"F32","shape":["2"],"data_offsets":[0,8]"#), "string dim") { if case .invalidDimension = $0 { return true }; return false }
        reject(entry(#""dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1"#), "extra field") { if case .invalidTensorEntry = $0 { return true }; return false }
        reject(entry(#""dtype":"F32","shape":[2]"#), "missing field") { if case .invalidTensorEntry = $0 { return true }; return false }
        reject(entry(#""dtype":"F32","shape":[2],"data_offsets":[0,8.5]"#), "fractional offset") { if case .invalidOffsets = $0 { return true }; return false }
        reject(file(#"{"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, buffer: 8), "empty name") { if case .emptyTensorName = $0 { return true }; return false }
        reject(file("{\"__metadata__\":{\"format\":1},\(one)}", buffer: 8), "non-string metadata") { if case .invalidMetadata(_, "format", _) = $0 { return true }; return false }
    }

    func testAcceptsUnpaddedHeaderAndEmptyTensors() throws {
        let h = #"{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#
        var b = file(h, buffer: 0, pad: false)
        b += withUnsafeBytes(of: Float(2.5).bitPattern.littleEndian, Array.init)
        let f = try SafeTensorsFile(data: Data(b))
        XCTAssertEqual(try f.tensors["s"]!.floats(), [2.5])
        XCTAssertEqual(f.tensors["e"]!.shape, [0, 3])
        XCTAssertEqual(try f.tensors["e"]!.floats(), [])
    }
}
