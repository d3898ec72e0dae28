import Layers
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

/// Predicted class and confidence per row, in Double: max softmax probability (first maximal
/// index wins ties), or for one logit z: p = sigmoid(z), class 1 iff p >= 0.5, confidence max(p, 1-p).
func predictions(_ logits: Tensor) -> [(pred: Int, conf: Double)] {
    let n = logits.shape[0], k = logits.shape[1]
    return (0..<n).map { i in
        let row = logits.data[(i * k)..<(i * k + k)].map(Double.init)
        if k == 1 {
            let z = row[0]
            let p = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
            return (p >= 0.5 ? 1 : 0, max(p, 1 - p))
        }
        var best = 0
        for j in 1..<k where row[j] > row[best] { best = j }
        let m = row[best]
        let sum = row.reduce(0) { $0 + exp($1 - m) }
        return (best, 1 / sum)
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
