import Foundation
import Tensors
import XCTest

/// Fixture directory of the image tests (written by Tests/Fixtures/data.py).
let imageFixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/data")

/// Just enough safetensors to read the committed fixtures (F32 and U8, little-endian).
struct FixtureTensors {
    var tensors: [String: (dtype: String, shape: [Int], bytes: Data)] = [:]

    init(_ url: URL) throws {
        let d = try Data(contentsOf: url)
        let n = d.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        let header = try JSONSerialization.jsonObject(with: d.subdata(in: 8..<(8 + Int(n)))) as! [String: Any]
        for (k, v) in header where k != "__metadata__" {
            let e = v as! [String: Any]
            let off = e["data_offsets"] as! [Int]
            tensors[k] = (e["dtype"] as! String, e["shape"] as! [Int],
                          d.subdata(in: (8 + Int(n) + off[0])..<(8 + Int(n) + off[1])))
        }
    }

    func float(_ name: String) -> Tensor {
        let t = tensors[name]!
        precondition(t.dtype == "F32", "\(name) is \(t.dtype)")
        var out = [Float](repeating: 0, count: t.bytes.count / 4)
        _ = out.withUnsafeMutableBytes { t.bytes.copyBytes(to: $0) }
        return Tensor(shape: t.shape, data: out)
    }

    func bytes(_ name: String) -> (shape: [Int], data: [UInt8]) {
        let t = tensors[name]!
        precondition(t.dtype == "U8", "\(name) is \(t.dtype)")
        return (t.shape, [UInt8](t.bytes))
    }
}

/// A fresh, empty temporary directory removed when the test case ends.
func makeTempDir(_ test: XCTestCase, _ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("sidenet-imagedata-\(safe)-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// The message of the error `body` throws (fails the test if it does not throw).
func thrownMessage(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        try body()
        XCTFail("expected an error", file: file, line: line)
        return ""
    } catch {
        return "\(error)"
    }
}
