import CHeadKernels
import Layers
import Models
import Tensors

/// An `MLPHead` run on rows of a cached `FeatureMatrix`, read in place: the first Linear reads
/// the selected rows (Float32 or Float16) straight from the cache in the `CHeadKernels`
/// kernels, so no batch is gathered, decoded or packed. BatchNorm, ReLU and the second Linear
/// are the head's own layers. Every run on cached features goes through here, alone or in a
/// lockstep group, in training and in evaluation: each output row depends only on its own
/// feature row and each weight-gradient element on the rows in batch order, whatever the
/// thread count, so a run's numbers do not depend on what runs beside it.
final class FeatureHead {
    let head: MLPHead
    private let relu = ReLU()
    private var input: (matrix: FeatureMatrix, rows: [Int])?

    init(_ head: MLPHead) { self.head = head }

    /// Rows `idx` of `m` [idx.count, inFeatures] -> logits [idx.count, outputs].
    func forward(_ m: FeatureMatrix, rows idx: [Int], mode: Mode) -> Tensor {
        let fc1 = head.fc1, out = head.hidden, cols = m.cols
        precondition(cols == head.inFeatures, "FeatureHead: features have \(cols) columns, the head reads \(head.inFeatures)")
        for i in idx { precondition(i >= 0 && i < m.rows, "feature row \(i) out of range 0..<\(m.rows)") }
        var z = Tensor(zeros: [idx.count, out])  // [n, hidden]
        if !idx.isEmpty {
            m.withRowStorage { base, dtype in
                idx.withUnsafeBufferPointer { pi in
                    fc1.weight.value.data.withUnsafeBufferPointer { pw in
                        z.data.withUnsafeMutableBufferPointer { pz in
                            let bias = fc1.bias?.value.data
                            bias.withOptionalPointer { pb in
                                // rows in chunks across threads: each row's logits are its own
                                parallelFor(idx.count, minChunk: 48) { r in
                                    hk_rows_linear_forward(base, dtype, cols, pi.baseAddress! + r.lowerBound, r.count,
                                                           pw.baseAddress!, pb, out, pz.baseAddress! + r.lowerBound * out)
                                }
                            }
                        }
                    }
                }
            }
        }
        input = (m, idx)
        return head.fc2.forward(relu.forward(head.bn.forward(z, mode: mode)))
    }

    /// The parameter gradients of the last `forward` (dLogits [n, outputs]); no input gradient
    /// (cached features are inputs). fc1: dW += dzᵀ X, db += Σ_rows dz.
    func backwardParameters(_ dLogits: Tensor) {
        guard let (m, idx) = input else { preconditionFailure("FeatureHead.backwardParameters called before forward") }
        let dz = head.bn.backward(relu.backward(head.fc2.backward(dLogits)))  // [n, hidden]
        let fc1 = head.fc1, out = head.hidden, cols = m.cols
        dz.data.withUnsafeBufferPointer { pd in
            if !fc1.weight.frozen, !idx.isEmpty {
                m.withRowStorage { base, dtype in
                    idx.withUnsafeBufferPointer { pi in
                        fc1.weight.grad.data.withUnsafeMutableBufferPointer { pg in
                            // column ranges across threads: each element's sum runs over the rows alone
                            parallelFor(cols, minChunk: 2048) { r in
                                hk_rows_linear_weight_grad(base, dtype, cols, pi.baseAddress!, idx.count, pd.baseAddress!, out,
                                                           pg.baseAddress!, 1, r.lowerBound, r.upperBound)
                            }
                        }
                    }
                }
            }
            if let bias = fc1.bias, !bias.frozen {
                bias.grad.data.withUnsafeMutableBufferPointer { pg in
                    for r in 0..<idx.count {
                        let row = pd.baseAddress! + r * out
                        for j in 0..<out { pg[j] += row[j] }
                    }
                }
            }
        }
    }
}

private extension Optional where Wrapped == [Float] {
    /// The array's storage, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
