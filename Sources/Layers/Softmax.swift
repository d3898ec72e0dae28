import Foundation
import Tensors

/// Softmax over the last dimension, PyTorch `nn.Softmax(dim=-1)`. Shapes: [..., K] -> [..., K].
public final class Softmax {
    private var cachedOutput: Tensor?
    public init() {}

    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1, "Softmax: input must have at least one dimension")
        var y = x
        let k = x.shape.last!
        if k > 0 { y.data.withUnsafeMutableBufferPointer { p in softmaxRows(p.baseAddress!, rows: x.count / k, cols: k) } }
        cachedOutput = y
        return y
    }

    /// dx = y · (dOut − Σ_k dOut·y) per row.
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let y = cachedOutput else { preconditionFailure("Softmax.backward called before forward") }
        precondition(dOut.shape == y.shape, "Softmax.backward: dOut \(dOut.shape), expected \(y.shape)")
        var dx = dOut
        let k = y.shape.last!
        if k > 0 {
            y.data.withUnsafeBufferPointer { py in dx.data.withUnsafeMutableBufferPointer { pd in
                softmaxBackwardRows(py.baseAddress!, pd.baseAddress!, rows: y.count / k, cols: k)
            } }
        }
        return dx
    }
}

/// In-place numerically stable softmax of each row of a [rows, cols] block.
func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows {
        let row = p + r * cols
        var m = -Float.infinity
        for j in 0..<cols { m = Swift.max(m, row[j]) }
        var s: Float = 0
        for j in 0..<cols { let e = expf(row[j] - m); row[j] = e; s += e }
        let inv = 1 / s
        for j in 0..<cols { row[j] *= inv }
    }
}

/// In-place: d ← y·(d − Σ d·y) per row.
func softmaxBackwardRows(_ y: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows {
        let yr = y + r * cols, dr = d + r * cols
        var dot: Float = 0
        for j in 0..<cols { dot += yr[j] * dr[j] }
        for j in 0..<cols { dr[j] = yr[j] * (dr[j] - dot) }
    }
}
