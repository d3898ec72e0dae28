import Foundation
import Tensors
import WeightIO

/// The tensors of one committed fixture file, Tests/Fixtures/layers/<name>.safetensors, read
/// with WeightIO's validating safetensors reader.
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
        tensors = try SafeTensors.load(url)
    }

    subscript(_ key: String) -> Tensor {
        get throws {
            guard let t = tensors[key] else { throw FixtureError(description: "fixture \(name): no tensor \(key)") }
            return t
        }
    }
}
