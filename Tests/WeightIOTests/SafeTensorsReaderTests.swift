import Foundation
import XCTest
import Tensors
import WeightIO

/// The streamed safetensors reader (`SafeTensorsReader`, `WeightFile.open`) against the
/// in-memory one: the same floats bit for bit, whatever the chunk size; the same rejections;
/// and a one-line error naming the file and the tensor when the bytes are not there.
final class SafeTensorsReaderTests: XCTestCase {
    private func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

    /// A file with every float dtype and a few integers, odd element counts (so chunks end mid-element).
    private func mixedFile() throws -> URL {
        var rng = SeededGenerator(seed: 11)
        var tensors: [String: StoredTensor] = [:]
        func raw(_ n: Int, _ size: Int) -> Data { Data((0..<(n * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }) }
        // random bit patterns: NaNs, infinities and subnormals included
        tensors["f32"] = try StoredTensor(dtype: .F32, shape: [37, 3], bytes: raw(111, 4))
        tensors["f64"] = try StoredTensor(dtype: .F64, shape: [29], bytes: raw(29, 8))
        tensors["f16"] = try StoredTensor(dtype: .F16, shape: [5, 13], bytes: raw(65, 2))
        tensors["bf16"] = try StoredTensor(dtype: .BF16, shape: [41], bytes: raw(41, 2))
        tensors["i64"] = try StoredTensor(int64s: [0, -3, 1 << 40], shape: [3])
        tensors["u8"] = try StoredTensor(dtype: .U8, shape: [7], bytes: raw(7, 1))
        tensors["empty"] = try StoredTensor(dtype: .F32, shape: [0, 4], bytes: Data())
        let url = try Fixture.temp([], name: "mixed.safetensors")
        try SafeTensors.write(tensors, to: url)
        return url
    }

    func testStreamedFloatsAreBitIdenticalToInMemoryFloats() throws {
        for url in [Fixture.url("tiny.safetensors"), try mixedFile()] {
            let file = try SafeTensorsFile(contentsOf: url)
            let reader = try SafeTensorsReader(contentsOf: url)
            XCTAssertEqual(reader.names, file.names)
            XCTAssertEqual(reader.metadata, file.metadata)
            for name in file.names {
                let want = bits(try file.tensors[name]!.floats())
                for chunk in [1, 6, 4096, SafeTensorsReader.defaultChunkBytes] {
                    XCTAssertEqual(bits(try reader.floats(name, chunkBytes: chunk)), want, "\(url.lastPathComponent) \(name), chunk \(chunk)")
                }
                XCTAssertEqual(reader.tensors[name]!.shape, file.tensors[name]!.shape)
                XCTAssertEqual(reader.tensors[name]!.dtype, file.tensors[name]!.dtype)
            }
        }
    }

    func testOpenStreamsSafetensorsAndLoadsTorchFilesAsBefore() throws {
        for name in ["tiny.safetensors", "tiny_zip.pth", "tiny_legacy.pth"] {
            let url = Fixture.url(name)
            let loaded = try WeightFile.load(url)
            let opened = try WeightFile.open(url)
            XCTAssertEqual(Set(opened.keys), Set(loaded.keys), name)
            for (k, s) in loaded {
                XCTAssertEqual(opened[k]!.shape, s.shape, "\(name) \(k)")
                XCTAssertEqual(bits(try opened[k]!.floats()), bits(try s.floats()), "\(name) \(k)")
                var buf = [Float](repeating: -1, count: s.elementCount)
                try buf.withUnsafeMutableBufferPointer { try opened[k]!.read(into: $0) }
                XCTAssertEqual(bits(buf), bits(try s.floats()), "\(name) \(k) read(into:)")
            }
        }
    }

    /// A truncated file is refused when opened, naming the file and the first tensor cut off.
    func testTruncatedFileNamesFileAndTensor() throws {
        let good = try Fixture.bytes("tiny.safetensors")
        let file = try SafeTensorsFile(contentsOf: Fixture.url("tiny.safetensors"))
        let lastSize = file.tensors.values.map(\.bytes.count).min()!  // cut inside the last tensor at least
        let url = try Fixture.temp(Array(good.dropLast(lastSize + 3)), name: "cut.safetensors")
        for open in [{ _ = try SafeTensorsReader(contentsOf: url) }, { _ = try WeightFile.open(url) }, { _ = try SafeTensorsFile(contentsOf: url) }] {
            let e = thrownError(open)
            guard case let .truncatedBuffer(f, tensor, _, size)? = e as? SafeTensorsError else { return XCTFail("got \(String(describing: e))") }
            XCTAssertEqual(f, url.path)
            XCTAssertEqual(size, good.count - lastSize - 3)
            let msg = "\(e!)"
            XCTAssertTrue(msg.contains(url.path) && msg.contains("\"\(tensor)\""), msg)
            XCTAssertFalse(msg.contains("\n"), msg)
        }
    }

    /// A file that shrinks after it was opened (and its header accepted) fails on the read,
    /// naming the file and the tensor, instead of handing out garbage.
    func testFileShrinkingWhileStreamedNamesFileAndTensor() throws {
        let url = try mixedFile()
        let reader = try SafeTensorsReader(contentsOf: url)
        let last = reader.tensors.max { $0.value.offset < $1.value.offset }!.key
        let h = try FileHandle(forWritingTo: url)
        try h.truncate(atOffset: UInt64(reader.tensors[last]!.offset + 1))
        try h.close()
        let e = thrownError { _ = try reader.floats(last, chunkBytes: 6) }
        guard case let .readFailed(f, t, _)? = e as? SafeTensorsError else { return XCTFail("got \(String(describing: e))") }
        XCTAssertEqual(f, url.path)
        XCTAssertEqual(t, last)
        XCTAssertFalse("\(e!)".contains("\n"))
        XCTAssertTrue("\(e!)".contains(url.path) && "\(e!)".contains(last))
    }
}
