import XCTest
import Layers
import Models
import Runner
import Tensors

/// Validation sums use a loss without its gradient (`headLossValue`) and a count of correct
/// classes without confidences (`correctCount`); both must give exactly what the full loss
/// (`softmaxCrossEntropy`, `sigmoidBinaryCrossEntropyWithLogits`) and the harness's prediction
/// rule (`ClassPrediction.exact`) give, so epoch rows stay the same bits.
final class ValidationLossTests: XCTestCase {
    /// Logits with ties, equal maxima, signed zeros, large and tiny magnitudes, and a -inf
    /// (never at the row's `label(i, k)`: the loss stays finite, so every bit of it counts).
    private func logits(rows n: Int, classes k: Int, seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        var data = Tensor.normal([n, k], mean: 0, std: 3, rng: &rng).data
        for i in 0..<n {
            switch i % 7 {
            case 0: data[i * k + (i % k)] = data[i * k + ((i + 1) % k)]  // a tie
            case 1: for j in 0..<k { data[i * k + j] = j % 2 == 0 ? 0 : -0.0 }  // all equal, signed zeros
            case 2: data[i * k] *= 1e4
            case 3: data[i * k + k - 1] = 1e-30
            case 4 where k > 1: data[i * k + (label(i, k) + 1) % k] = -.infinity
            default: break
            }
        }
        return Tensor(shape: [n, k], data: data)
    }

    private func label(_ i: Int, _ k: Int) -> Int { (i * 7 + 3) % max(k, 2) }

    func testLossValueIsTheFullLossBitForBit() {
        for (k, seed) in [(10, 1), (2, 2), (3, 3), (1, 4)] as [(Int, UInt64)] {
            let z = logits(rows: 97, classes: k, seed: seed)
            let labels = (0..<97).map { label($0, k) }
            let full: Float = k == 1
                ? sigmoidBinaryCrossEntropyWithLogits(logits: z, targets: labels.map { Float($0) }).loss
                : softmaxCrossEntropy(logits: z, labels: labels).loss
            XCTAssertTrue(full.isFinite, "K = \(k)")
            XCTAssertEqual(headLossValue(z, labels: labels).bitPattern, Double(full).bitPattern, "K = \(k)")
        }
    }

    func testCorrectCountIsTheExactPredictionRule() {
        for (k, seed) in [(10, 5), (2, 6), (1, 7)] as [(Int, UInt64)] {
            let z = logits(rows: 200, classes: k, seed: seed)
            for shift in 0..<max(k, 2) {
                let labels = (0..<200).map { ($0 + shift) % max(k, 2) }
                let expected = (0..<200).filter { i in
                    ClassPrediction.exact(logits: z.data[(i * k)..<(i * k + k)]).predicted == labels[i]
                }.count
                XCTAssertEqual(correctCount(z, labels: labels), expected, "K = \(k), shift \(shift)")
            }
        }
    }
}
