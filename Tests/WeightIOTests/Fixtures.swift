import Foundation
import XCTest
import WeightIO

/// Locates the committed fixtures written by Tests/Fixtures/weightio.py.
enum Fixture {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/weightio")

    static func url(_ name: String) -> URL { dir.appendingPathComponent(name) }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: url(name))) }

    struct Expected { let dtype: String; let shape: [Int]; let values: [Double] }

    /// expected.json: {fixture: {tensor: {dtype, shape, values}}}.
    static func expected(_ fixture: String) throws -> [String: Expected] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url("expected.json"))) as! [String: Any]
        let entries = json[fixture] as! [String: [String: Any]]
        return entries.mapValues { e in
            Expected(dtype: e["dtype"] as! String, shape: e["shape"] as! [Int],
                     values: (e["values"] as! [NSNumber]).map { $0.doubleValue })
        }
    }

    /// A temporary file holding `bytes`.
    static func temp(_ bytes: [UInt8], name: String = "x.bin") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weightio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let u = dir.appendingPathComponent(name)
        try Data(bytes).write(to: u)
        return u
    }
}

let torchDTypes: [String: DType] = [
    "float32": .F32, "float64": .F64, "float16": .F16, "bfloat16": .BF16, "int64": .I64,
    "int32": .I32, "int16": .I16, "int8": .I8, "uint8": .U8, "bool": .BOOL,
]

/// Compares every tensor exactly (values as Float, integer tensors also as Int64).
func assertMatchesExpected(_ got: [String: StoredTensor], _ fixture: String,
                           file: StaticString = #filePath, line: UInt = #line) throws {
    let want = try Fixture.expected(fixture)
    XCTAssertEqual(got.keys.sorted(), want.keys.sorted(), "\(fixture): tensor names", file: file, line: line)
    for (name, e) in want {
        guard let t = got[name] else { continue }
        XCTAssertEqual(t.dtype, torchDTypes[e.dtype], "\(fixture) \(name): dtype", file: file, line: line)
        XCTAssertEqual(t.shape, e.shape, "\(fixture) \(name): shape", file: file, line: line)
        let f = try t.floats()
        XCTAssertEqual(f.count, e.values.count, "\(fixture) \(name): count", file: file, line: line)
        var maxDiff: Double = 0
        for (a, b) in zip(f, e.values) { maxDiff = max(maxDiff, abs(Double(a) - Double(Float(b)))) }
        // Tolerance 0: every value must decode to exactly the Float PyTorch holds.
        XCTAssertEqual(maxDiff, 0, "\(fixture) \(name): max |diff| = \(maxDiff)", file: file, line: line)
        if !t.dtype.isFloatingPoint {
            XCTAssertEqual(try t.int64s(), e.values.map { Int64($0) }, "\(fixture) \(name): int64 values", file: file, line: line)
        }
    }
}

/// Runs `body` and returns the error it throws (fails the test if it does not throw).
func thrownError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> Error? {
    do {
        _ = try body()
        XCTFail("expected an error", file: file, line: line)
        return nil
    } catch {
        return error
    }
}
