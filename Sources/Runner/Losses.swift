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
