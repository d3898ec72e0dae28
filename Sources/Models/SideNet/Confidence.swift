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

    // z [K] -> prediction (computed in Double by `ClassPrediction.exact`, reported in Float)
    public init<C: Collection>(logits z: C) where C.Element == Float, C.Index == Int {
        let e = ClassPrediction.exact(logits: z)
        self.init(predicted: e.predicted, confidence: Float(e.confidence))
    }

    /// The one confidence rule of the harness, in Double (early exit compares its Float rounding
    /// with theta; the store keeps the Double): max softmax probability, first maximal index
    /// winning ties; for one logit z: p = sigmoid(z), class 1 iff p >= 0.5, confidence max(p, 1-p).
    @inlinable
    public static func exact<C: Collection>(logits z: C) -> (predicted: Int, confidence: Double)
        where C.Element == Float, C.Index == Int {
        precondition(!z.isEmpty, "ClassPrediction needs at least one logit")
        if z.count == 1 {
            let v = Double(z[z.startIndex])
            let p = v >= 0 ? 1 / (1 + Foundation.exp(-v)) : Foundation.exp(v) / (1 + Foundation.exp(v))
            return (p >= 0.5 ? 1 : 0, max(p, 1 - p))
        }
        let best = predictedClass(logits: z)
        let m = Double(z[z.startIndex + best])
        var sum = 0.0
        for v in z { sum += Foundation.exp(Double(v) - m) }
        return (best, 1 / sum)
    }

    /// The class `exact` predicts, without its confidence: for K > 1 the first maximal logit's
    /// index (from 0); for one logit `exact`'s sigmoid rule.
    @inlinable
    public static func predictedClass<C: Collection>(logits z: C) -> Int where C.Element == Float, C.Index == Int {
        precondition(!z.isEmpty, "ClassPrediction needs at least one logit")
        if z.count == 1 { return exact(logits: z).predicted }
        var best = z.startIndex
        for i in z.indices where z[i] > z[best] { best = i }
        return best - z.startIndex
    }

    /// One prediction per row of logits [N, K].
    public static func rows(_ logits: Tensor) -> [ClassPrediction] {
        precondition(logits.rank == 2, "logits must be [N, K], got \(logits.shape)")
        let k = logits.shape[1]
        return (0..<logits.shape[0]).map { ClassPrediction(logits: logits.data[($0 * k)..<($0 * k + k)]) }
    }
}
