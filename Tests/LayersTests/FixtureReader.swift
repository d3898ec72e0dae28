import Foundation
import Tensors

/// Test-only safetensors reader (F32 only): enough to read Tests/Fixtures/layers/*.safetensors.
/// Format: u64 little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, data.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

struct Fixture {
    let name: String
    let tensors: [String: Tensor]

    init(_ name: String) throws {
        self.name = name
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/layers/\(name).safetensors")
        let bytes = [UInt8](try Data(contentsOf: url))
        guard bytes.count >= 8 else { throw FixtureError(description: "\(url.path): shorter than 8 bytes") }
        let n = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        guard 8 + n <= bytes.count,
              let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any]
        else { throw FixtureError(description: "\(url.path): bad header (length \(n))") }
        var out: [String: Tensor] = [:]
        for (key, value) in header where key != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offs = info["data_offsets"] as? [Int], offs.count == 2
            else { throw FixtureError(description: "\(url.path): tensor \(key): malformed entry") }
            guard dtype == "F32" else { throw FixtureError(description: "\(url.path): tensor \(key): dtype \(dtype), expected F32") }
            let start = 8 + n + offs[0], end = 8 + n + offs[1]
            guard end <= bytes.count, end - start == 4 * Tensor.elementCount(shape)
            else { throw FixtureError(description: "\(url.path): tensor \(key): offsets \(offs) do not fit shape \(shape)") }
            var data = [Float](repeating: 0, count: (end - start) / 4)
            data.withUnsafeMutableBytes { dst in bytes[start..<end].withUnsafeBytes { dst.copyMemory(from: $0) } }
            out[key] = Tensor(shape: shape, data: data)
        }
        tensors = out
    }

    subscript(_ key: String) -> Tensor {
        get throws {
            guard let t = tensors[key] else { throw FixtureError(description: "fixture \(name): no tensor \(key)") }
            return t
        }
    }
}
