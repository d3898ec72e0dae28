import Foundation
import Tensors

/// ClassPrediction and confidence of one example from its logits.
/// - K > 1 outputs (softmax): predicted = argmax, confidence = max softmax probability.
/// - K = 1 output (sigmoid, binary): p = sigmoid(z), predicted = p >= 0.5 ? 1 : 0,
///   confidence = max(p, 1 - p).
public struct ClassPrediction: Equatable, Sendable {
    public var predicted: Int
    public var confidence: Float

    public init(predicted: Int, confidence: Float) {
        self.predicted = predicted
        self.confidence = confidence
    }

    // z [K] -> prediction
    public init<C: Collection>(logits z: C) where C.Element == Float, C.Index == Int {
        precondition(!z.isEmpty, "ClassPrediction needs at least one logit")
        if z.count == 1 {
            let v = Double(z[z.startIndex])
            let p = 1 / (1 + Foundation.exp(-v))
            self.init(predicted: p >= 0.5 ? 1 : 0, confidence: Float(max(p, 1 - p)))
            return
        }
        var best = z.startIndex
        for i in z.indices where z[i] > z[best] { best = i }
        let m = Double(z[best])
        var sum = 0.0
        for v in z { sum += Foundation.exp(Double(v) - m) }
        self.init(predicted: best - z.startIndex, confidence: Float(1 / sum))
    }

    /// One prediction per row of logits [N, K].
    public static func rows(_ logits: Tensor) -> [ClassPrediction] {
        precondition(logits.rank == 2, "logits must be [N, K], got \(logits.shape)")
        let k = logits.shape[1]
        return (0..<logits.shape[0]).map { ClassPrediction(logits: logits.data[($0 * k)..<($0 * k + k)]) }
    }
}
