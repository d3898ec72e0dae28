import Foundation
import Tensors
import WeightIO
import XCTest

/// Fixture directory of the image tests (written by Tests/Fixtures/data.py).
let imageFixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/data")

/// A committed fixture file read with WeightIO's validating safetensors reader.
struct FixtureTensors {
    var tensors: [String: (dtype: String, shape: [Int], bytes: Data)] = [:]

    init(_ url: URL) throws {
        for (k, t) in try SafeTensorsFile(contentsOf: url).tensors {
            tensors[k] = (t.dtype.rawValue, t.shape, t.bytes)
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
