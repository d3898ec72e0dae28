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

/// The loss `headLoss` returns, without its gradient (validation): for K > 1 outputs the same
/// operations as `softmaxCrossEntropy`'s loss in the same order (the same bits; LossesTests),
/// without the second pass of exponentials that the gradient needs.
public func headLossValue(_ logits: Tensor, labels: [Int]) -> Double {
    let (n, k) = (logits.shape[0], logits.shape[1])
    if k == 1 { return headLoss(logits, labels: labels).loss }
    precondition(logits.rank == 2 && n == labels.count, "headLossValue: logits \(logits.shape) for \(labels.count) labels")
    var total = 0.0
    logits.data.withUnsafeBufferPointer { z in
        for i in 0..<n {
            precondition(labels[i] >= 0 && labels[i] < k, "headLossValue: label \(labels[i]) out of range 0..<\(k)")
            let row = z.baseAddress! + i * k
            var m = -Float.infinity
            for j in 0..<k { m = max(m, row[j]) }
            var s = 0.0
            for j in 0..<k { s += Foundation.exp(Double(row[j] - m)) }
            let lse = Double(m) + Foundation.log(s)
            total += lse - Double(row[labels[i]])
        }
    }
    return Double(Float(total / Double(n)))
}

/// How many rows' predicted class (`ClassPrediction.exact`'s: the first maximal logit for
/// K > 1) equals the label; no confidence (validation accuracy needs only the class).
public func correctCount(_ logits: Tensor, labels: [Int]) -> Int {
    let (n, k) = (logits.shape[0], logits.shape[1])
    if k == 1 { return zip(predictions(logits), labels).filter { $0.0.pred == $0.1 }.count }
    return logits.data.withUnsafeBufferPointer { z in
        var correct = 0
        for i in 0..<n {
            let row = z.baseAddress! + i * k
            var best = 0
            for j in 0..<k where row[j] > row[best] { best = j }
            if best == labels[i] { correct += 1 }
        }
        return correct
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
