import Foundation
import Layers
import Models
import Tensors
import WeightIO
import XCTest

/// A reference case written by Tests/Fixtures/models.py.
struct ResNetFixture {
    let dir: URL
    let config: ResNetConfig
    let inputSize: Int
    let io: [String: Tensor]

    static func dir(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models/\(name)")
    }

    init(_ name: String) throws {
        dir = ResNetFixture.dir(name)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
        config = ResNetConfig(block: ResNetBlockKind(rawValue: json["block"] as! String)!, blocks: json["blocks"] as! [Int],
                              width: json["width"] as! Int, numClasses: json["classes"] as! Int)
        inputSize = json["input_size"] as! Int
        io = try SafeTensors.load(dir.appendingPathComponent("io.safetensors"))
    }

    var checkpoint: URL { dir.appendingPathComponent("checkpoint.safetensors") }
    var torchvisionPth: URL { dir.appendingPathComponent("torchvision.pth") }

    /// The model with the fixture's weights loaded strictly.
    func model() throws -> SideNetModel {
        var rng = SeededGenerator(seed: 99)
        let m = try makeResNetModel(config: config, inputHeight: inputSize, inputWidth: inputSize, rng: &rng)
        try m.loadCheckpoint(from: checkpoint)
        return m
    }

    subscript(_ key: String) -> Tensor { io[key]! }
    var labels: [Int] { self["labels"].data.map { Int($0) } }
}

/// Fails unless max|a - b| <= atol + rtol * max|b|; prints the max difference.
func assertClose(_ a: Tensor, _ b: Tensor, atol: Float = 1e-5, rtol: Float = 1e-4, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
    guard a.shape == b.shape else { return }
    let diff = a.maxAbsDifference(b)
    let scale = b.data.reduce(Float(0)) { max($0, abs($1)) }
    XCTAssertLessThanOrEqual(diff, atol + rtol * scale,
                             "\(what): max |diff| \(diff) > \(atol) + \(rtol) x max|ref| \(scale)", file: file, line: line)
}

/// Mean cross-entropy over the batch and its gradient w.r.t. logits [N, K] (PyTorch F.cross_entropy).
func crossEntropy(_ logits: Tensor, _ labels: [Int]) -> (loss: Float, grad: Tensor) {
    let n = logits.shape[0], k = logits.shape[1]
    var grad = Tensor(zeros: logits.shape)
    var loss = 0.0
    for i in 0..<n {
        let row = logits.data[(i * k)..<(i * k + k)].map(Double.init)
        let m = row.max()!
        let s = row.reduce(0) { $0 + exp($1 - m) }
        loss += -(row[labels[i]] - m - log(s))
        for j in 0..<k { grad.data[i * k + j] = Float((exp(row[j] - m) / s - (j == labels[i] ? 1 : 0)) / Double(n)) }
    }
    return (Float(loss / Double(n)), grad)
}
