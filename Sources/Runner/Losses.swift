import Foundation
import Layers
import Models
import Tensors

/// The loss of one head: softmax cross-entropy for K > 1 outputs, sigmoid BCE for one output.
func headLoss(_ logits: Tensor, labels: [Int]) -> (loss: Double, dLogits: Tensor) {
    if logits.shape[1] == 1 {
        let r = sigmoidBinaryCrossEntropyWithLogits(logits: logits, targets: labels.map { Float($0) })
        return (Double(r.loss), r.dLogits)
    }
    let r = softmaxCrossEntropy(logits: logits, labels: labels)
    return (Double(r.loss), r.dLogits)
}

/// The loss `headLoss` returns, without its gradient (validation): the same bits.
public func headLossValue(_ logits: Tensor, labels: [Int]) -> Double {
    if logits.shape[1] == 1 { return headLoss(logits, labels: labels).loss }
    return Double(softmaxCrossEntropyLoss(logits: logits, labels: labels))
}

/// How many rows' predicted class (`ClassPrediction.predictedClass`, the rule of
/// `ClassPrediction.exact`) equals the label; no confidence (validation accuracy needs only the class).
public func correctCount(_ logits: Tensor, labels: [Int]) -> Int {
    let (n, k) = (logits.shape[0], logits.shape[1])
    precondition(n == labels.count, "correctCount: logits \(logits.shape) for \(labels.count) labels")
    return logits.data.withUnsafeBufferPointer { z in
        (0..<n).filter { i in ClassPrediction.predictedClass(logits: UnsafeBufferPointer(rebasing: z[(i * k)..<(i * k + k)])) == labels[i] }.count
    }
}

/// Predicted class and confidence per row, in Double (`ClassPrediction.exact`, the rule early
/// exit uses).
func predictions(_ logits: Tensor) -> [(pred: Int, conf: Double)] {
    let k = logits.shape[1]
    return (0..<logits.shape[0]).map { i in
        let e = ClassPrediction.exact(logits: logits.data[(i * k)..<(i * k + k)])
        return (e.predicted, e.confidence)
    }
}

/// Scales a gradient tensor in place.
func scaled(_ t: Tensor, by s: Double) -> Tensor {
    if s == 1 { return t }
    var out = t
    let f = Float(s)
    for i in 0..<out.count { out.data[i] *= f }
    return out
}

import Foundation
