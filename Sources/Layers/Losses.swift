import Foundation
import Tensors

/// Mean softmax cross-entropy, PyTorch `F.cross_entropy(logits, labels)`.
/// logits [N, K], labels N values in 0..<K -> (mean loss, dLogits [N, K] = (softmax − onehot)/N).
public func softmaxCrossEntropy(logits: Tensor, labels: [Int]) -> (loss: Float, dLogits: Tensor) {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                 "softmaxCrossEntropy: logits \(logits.shape) for \(labels.count) labels")
    let (n, k) = (logits.shape[0], logits.shape[1])
    var d = logits
    var total = 0.0
    for i in 0..<n {
        precondition(labels[i] >= 0 && labels[i] < k, "softmaxCrossEntropy: label \(labels[i]) out of range 0..<\(k)")
        let lse = logSumExp(logits.data, row: i, k: k)
        total += lse - Double(logits.data[i * k + labels[i]])
        for j in 0..<k {
            let p = Foundation.exp(Double(logits.data[i * k + j]) - lse)
            d.data[i * k + j] = Float((p - (j == labels[i] ? 1 : 0)) / Double(n))
        }
    }
    return (Float(total / Double(n)), d)
}

/// The loss of `softmaxCrossEntropy` alone, without its gradient (validation): the same
/// operations in the same order, so the same bits.
public func softmaxCrossEntropyLoss(logits: Tensor, labels: [Int]) -> Float {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                 "softmaxCrossEntropyLoss: logits \(logits.shape) for \(labels.count) labels")
    let (n, k) = (logits.shape[0], logits.shape[1])
    var total = 0.0
    for i in 0..<n {
        precondition(labels[i] >= 0 && labels[i] < k, "softmaxCrossEntropyLoss: label \(labels[i]) out of range 0..<\(k)")
        total += logSumExp(logits.data, row: i, k: k) - Double(logits.data[i * k + labels[i]])
    }
    return Float(total / Double(n))
}

/// log Σ_j exp(z[row, j]) of row `row` of z [N, k], in Double around the row's maximum.
@inline(__always)
private func logSumExp(_ z: [Float], row i: Int, k: Int) -> Double {
    var m = -Float.infinity
    for j in 0..<k { m = max(m, z[i * k + j]) }
    var s = 0.0
    for j in 0..<k { s += Foundation.exp(Double(z[i * k + j] - m)) }
    return Double(m) + Foundation.log(s)
}

/// Mean binary cross-entropy on logits, PyTorch `F.binary_cross_entropy_with_logits` (stable form
/// max(x,0) − x·t + log(1 + e^−|x|)). logits [N] or [N, 1], targets N values in [0, 1]
/// -> (mean loss, dLogits same shape = (σ(x) − t)/N).
public func sigmoidBinaryCrossEntropyWithLogits(logits: Tensor, targets: [Float]) -> (loss: Float, dLogits: Tensor) {
    precondition((logits.rank == 1 || (logits.rank == 2 && logits.shape[1] == 1)) && logits.count == targets.count,
                 "sigmoidBinaryCrossEntropyWithLogits: logits \(logits.shape) for \(targets.count) targets")
    let n = targets.count
    var d = logits
    var total = 0.0
    for i in 0..<n {
        let x = Double(logits.data[i]), t = Double(targets[i])
        total += max(x, 0) - x * t + Foundation.log1p(Foundation.exp(-abs(x)))
        let sig = x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
        d.data[i] = Float((sig - t) / Double(n))
    }
    return (Float(total / Double(max(n, 1))), d)
}
