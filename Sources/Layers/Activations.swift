import Foundation
import Tensors

/// Elementwise max(x, 0), PyTorch `nn.ReLU`. Shapes: any -> same.
public final class ReLU {
    private var cachedOutput: Tensor?
    public init() {}

    public func forward(_ x: Tensor) -> Tensor {
        var y = x
        y.data.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            // a select, not a branch: signs are random, so a branch mispredicts every other element
            parallelFor(p.count, minChunk: 65536) { r in for i in r { b[i] = b[i] < 0 ? 0 : b[i] } }
        }
        cachedOutput = y
        return y
    }

    /// dx = dOut where y > 0, else 0.
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let y = cachedOutput else { preconditionFailure("ReLU.backward called before forward") }
        precondition(dOut.shape == y.shape, "ReLU.backward: dOut \(dOut.shape), expected \(y.shape)")
        var dx = dOut
        y.data.withUnsafeBufferPointer { py in dx.data.withUnsafeMutableBufferPointer { pd in
            let yb = py.baseAddress!, db = pd.baseAddress!
            // dOut's bits under a mask (all ones unless y <= 0, then +0): vectorised, no branch
            parallelFor(pd.count, minChunk: 65536) { r in
                for i in r { db[i] = Float(bitPattern: db[i].bitPattern & (yb[i] <= 0 ? 0 : ~0)) }
            }
        } }
        return dx
    }
}

/// Elementwise tanh, PyTorch `nn.Tanh`. Shapes: any -> same.
public final class Tanh {
    private var cachedOutput: Tensor?
    public init() {}

    public func forward(_ x: Tensor) -> Tensor {
        var y = x
        for i in 0..<y.count { y.data[i] = Foundation.tanh(x.data[i]) }
        cachedOutput = y
        return y
    }

    /// dx = dOut · (1 − y²).
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let y = cachedOutput else { preconditionFailure("Tanh.backward called before forward") }
        precondition(dOut.shape == y.shape, "Tanh.backward: dOut \(dOut.shape), expected \(y.shape)")
        var dx = dOut
        for i in 0..<dx.count { dx.data[i] *= 1 - y.data[i] * y.data[i] }
        return dx
    }
}

/// Exact GELU, PyTorch `nn.GELU()` / HF "gelu": 0.5·x·(1 + erf(x/√2)). Shapes: any -> same.
/// Vectorised (`VectorMath.geluForward/geluBackward`, erf as in PyTorch's CPU kernel).
public final class GELU {
    private var cachedInput: Tensor?
    public init() {}

    public func forward(_ x: Tensor) -> Tensor {
        cachedInput = x
        var y = Tensor(uninitializedShape: x.shape)   // read x, write y: no copy of x first
        x.data.withUnsafeBufferPointer { px in y.data.withUnsafeMutableBufferPointer { py in
            VectorMath.geluForward(px.baseAddress!, into: py.baseAddress!, count: py.count)
        } }
        return y
    }

    /// dx = dOut · (Φ(x) + x·φ(x)).
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let x = cachedInput else { preconditionFailure("GELU.backward called before forward") }
        precondition(dOut.shape == x.shape, "GELU.backward: dOut \(dOut.shape), expected \(x.shape)")
        var dx = dOut
        x.data.withUnsafeBufferPointer { px in dx.data.withUnsafeMutableBufferPointer { pd in
            VectorMath.geluBackward(x: px.baseAddress!, pd.baseAddress!, count: pd.count)
        } }
        return dx
    }
}

/// Inverted dropout, PyTorch `nn.Dropout(p)`: in train mode zero each element with probability p
/// and scale survivors by 1/(1−p); identity in eval. The mask comes from the layer's own generator.
public final class Dropout {
    public let p: Float
    public var rng: SeededGenerator
    private var cachedMask: [Float]?   // 0 or 1/(1−p) per element; nil after an eval forward

    public init(p: Float, rng: SeededGenerator) {
        precondition(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got \(p)")
        self.p = p
        self.rng = rng
    }

    public convenience init(p: Float, seed: UInt64) { self.init(p: p, rng: SeededGenerator(seed: seed)) }

    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        guard mode == .train, p > 0 else { cachedMask = nil; return x }
        let scale = 1 / (1 - p)
        var mask = [Float](repeating: 0, count: x.count)
        for i in 0..<mask.count { mask[i] = rng.nextFloat() < p ? 0 : scale }
        var y = x
        for i in 0..<y.count { y.data[i] *= mask[i] }
        cachedMask = mask
        return y
    }

    /// dx = dOut · mask (identity after an eval forward).
    public func backward(_ dOut: Tensor) -> Tensor {
        guard let mask = cachedMask else { return dOut }
        precondition(mask.count == dOut.count, "Dropout.backward: dOut \(dOut.shape) does not match the forward input")
        var dx = dOut
        for i in 0..<dx.count { dx.data[i] *= mask[i] }
        return dx
    }
}

/// a += b elementwise (same shapes), in place: the residual gradient sum without a copy.
public func addInPlace(_ a: inout Tensor, _ b: Tensor) {
    precondition(a.shape == b.shape, "addInPlace: shapes \(a.shape) and \(b.shape) differ")
    b.data.withUnsafeBufferPointer { pb in a.data.withUnsafeMutableBufferPointer { pa in
        let bb = pb.baseAddress!, ab = pa.baseAddress!
        parallelFor(pa.count, minChunk: 65536) { r in for i in r { ab[i] += bb[i] } }
    } }
}
