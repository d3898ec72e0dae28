import CHeadKernels
import Foundation
import Tensors

/// Adam with PyTorch semantics (`torch.optim.Adam`, single-tensor CPU path, amsgrad off;
/// formats.md 9.2).
///
/// Per parameter p with gradient g, at its own step t (starting at 1):
///
///     g  = g + weightDecay * p                      (coupled L2, not AdamW)
///     m  = lerp(m, g, 1 - beta1)                    (PyTorch's exp_avg.lerp_)
///     v  = v * beta2 + (1 - beta2) * g * g          (exp_avg_sq.mul_.addcmul_)
///     denom = sqrt(v) / sqrt(1 - beta2^t) + eps     (eps after the sqrt of the corrected v)
///     p  = p + (-lr / (1 - beta1^t)) * m / denom    (addcdiv_)
///
/// Scalars (bias corrections, step size) are computed in Double like Python floats and cast to
/// Float where PyTorch casts them to the tensor dtype; element math is Float32.
/// Frozen parameters are skipped entirely (their step count does not advance), like PyTorch
/// parameters whose `.grad` is None.
public final class Adam {
    /// Current learning rate (a Python float in PyTorch). ReduceLROnPlateau writes it.
    public var lr: Double
    public let beta1: Double
    public let beta2: Double
    public let eps: Double
    public let weightDecay: Double

    /// The parameters in the order given, with their state_dict names.
    public let parameters: [(String, Parameter)]
    private var moments: [String: Moments] = [:]

    /// Per-parameter state: PyTorch's `exp_avg`, `exp_avg_sq` and `step`.
    final class Moments {
        var m: [Float]
        var v: [Float]
        var step: Int
        // two buffers from the start: `v = m` shared one, and the first step's writes copied it
        init(count: Int) { m = [Float](repeating: 0, count: count); v = [Float](repeating: 0, count: count); step = 0 }
    }

    /// - Parameters:
    ///   - parameters: named parameters (e.g. `model.namedParameters()`); names must be unique.
    public init(parameters: [(String, Parameter)], lr: Double, betas: (Double, Double) = (0.9, 0.999),
                eps: Double = 1e-8, weightDecay: Double = 0) {
        precondition(lr >= 0, "Adam: invalid learning rate \(lr)")
        precondition(eps >= 0, "Adam: invalid eps \(eps)")
        precondition(betas.0 >= 0 && betas.0 < 1 && betas.1 >= 0 && betas.1 < 1,
                     "Adam: invalid betas \(betas)")
        precondition(weightDecay >= 0, "Adam: invalid weight decay \(weightDecay)")
        precondition(Set(parameters.map { $0.0 }).count == parameters.count,
                     "Adam: duplicate parameter names")
        self.parameters = parameters
        self.lr = lr
        self.beta1 = betas.0
        self.beta2 = betas.1
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// Number of steps taken by the named parameter (0 if never updated).
    public func stepCount(of name: String) -> Int { moments[name]?.step ?? 0 }

    /// Zeroes the gradients of all (also frozen) parameters.
    public func zeroGrad() { for (_, p) in parameters { p.zeroGrad() } }

    /// One Adam update of every non-frozen parameter from its current `grad`.
    public func step() { step { _ in true } }

    /// The state of every non-frozen parameter, created (step 0) where missing. After this,
    /// `step(only:)` calls over disjoint parameter sets may run on different threads: they
    /// touch only their parameters' own state.
    public func prepareState() {
        for (name, p) in parameters where !p.frozen && moments[name] == nil { moments[name] = Moments(count: p.value.count) }
    }

    /// One Adam update of the non-frozen parameters `include` accepts (each at its own step
    /// count, exactly as `step()` updates them).
    public func step(only include: (Parameter) -> Bool) {
        for (name, p) in parameters where !p.frozen && include(p) {
            let n = p.value.count
            precondition(p.grad.count == n, "Adam: gradient of '\(name)' has shape \(p.grad.shape), value \(p.value.shape)")
            let st: Moments
            if let s = moments[name] { st = s } else { st = Moments(count: n); moments[name] = st }
            st.step += 1
            let t = Double(st.step)
            let bias1 = 1 - pow(beta1, t)
            let bias2 = 1 - pow(beta2, t)
            let stepSize = lr / bias1
            let bias2Sqrt = bias2.squareRoot()
            let grad = p.grad.data
            Adam.updatingValue(of: p) { value in
                Adam.update(value: &value, grad: grad, m: &st.m, v: &st.v,
                            weightDecay: Float(weightDecay), w1: Float(1 - beta1), beta2: Float(beta2),
                            w2: Float(1 - beta2), bias2Sqrt: Float(bias2Sqrt), eps: Float(eps),
                            negStepSize: Float(-stepSize))
            }
        }
    }

    /// `p.value.data` updated in place. `&p.value.data` would go through the property's `didSet`
    /// (read a copy, modify it, write it back): the array would have two owners while it is
    /// updated, so every step copied it (2 MB a step for a 16,384 x 32 layer). The tensor is
    /// moved out, updated as the only owner, and put back (`version` still advances).
    private static func updatingValue(of p: Parameter, _ body: (inout [Float]) -> Void) {
        var t = p.value
        p.value = Tensor(shape: [0], data: [])  // the parameter lets go of its array
        body(&t.data)
        p.value = t
    }

    /// The element loop (N = parameter element count), in C (`hk_adam_update`: AVX2 when the CPU
    /// has it) over chunks of the parameter. Every operation is the one `referenceUpdate` performs,
    /// rounded the same way, so the two agree bit for bit (OptimTests); PyTorch's CPU kernels
    /// perform the same operations in the same order.
    static func update(value: inout [Float], grad: [Float], m: inout [Float], v: inout [Float],
                       weightDecay: Float, w1: Float, beta2: Float, w2: Float, bias2Sqrt: Float,
                       eps: Float, negStepSize: Float) {
        let n = value.count
        withElementPointers(&value, grad, &m, &v) { pv, pg, pm, pvv in
            parallelFor(n, minChunk: 1 << 16) { r in
                hk_adam_update(pv + r.lowerBound, pg + r.lowerBound, pm + r.lowerBound, pvv + r.lowerBound, r.count,
                               weightDecay, w1, beta2, w2, bias2Sqrt, eps, negStepSize)
            }
        }
    }

    /// The plain Swift element loop `update` is tested against (the same operations). Two
    /// passes: the first moment alone, then the rest (sqrt and divisions).
    public static func referenceUpdate(value: inout [Float], grad: [Float], m: inout [Float], v: inout [Float],
                                       weightDecay: Float, w1: Float, beta2: Float, w2: Float, bias2Sqrt: Float,
                                       eps: Float, negStepSize: Float) {
        let n = value.count
        withElementPointers(&value, grad, &m, &v) { pv, pg, pm, pvv in
            // coupled L2: g + weightDecay * p, with p as before this step in both passes
            var g = [Float](repeating: 0, count: n)
            for i in 0..<n { g[i] = weightDecay == 0 ? pg[i] : pg[i] + weightDecay * pv[i] }
            g.withUnsafeBufferPointer { pgd in
                firstMoment(0..<n, pgd.baseAddress!, pm, w1)
                rest(0..<n, pgd.baseAddress!, pm, pvv, pv, beta2, w2, bias2Sqrt, eps, negStepSize)
            }
        }
    }

    /// The base addresses of a parameter's value, gradient and two moments (all of one count).
    private static func withElementPointers(_ value: inout [Float], _ grad: [Float], _ m: inout [Float], _ v: inout [Float],
                                            _ body: (UnsafeMutablePointer<Float>, UnsafePointer<Float>,
                                                     UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        value.withUnsafeMutableBufferPointer { pv in
        grad.withUnsafeBufferPointer { pg in
        m.withUnsafeMutableBufferPointer { pm in
        v.withUnsafeMutableBufferPointer { pvv in
            body(pv.baseAddress!, pg.baseAddress!, pm.baseAddress!, pvv.baseAddress!)
        }}}}
    }

    /// Element loop through `update` on plain arrays (for tests).
    public static func fastUpdate(value: inout [Float], grad: [Float], m: inout [Float], v: inout [Float],
                                  weightDecay: Float, w1: Float, beta2: Float, w2: Float, bias2Sqrt: Float,
                                  eps: Float, negStepSize: Float) {
        update(value: &value, grad: grad, m: &m, v: &v, weightDecay: weightDecay, w1: w1, beta2: beta2, w2: w2,
               bias2Sqrt: bias2Sqrt, eps: eps, negStepSize: negStepSize)
    }

    /// m = lerp(m, g, w1) as torch.lerp's vectorized CPU path (fused multiply-add):
    /// weight < 0.5 -> self + w * (end - self), else end + (w - 1) * (end - self).
    @inline(__always)
    private static func firstMoment(_ range: Range<Int>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ w1: Float) {
        if w1 < 0.5 {
            for i in range { m[i] = m[i].addingProduct(w1, g[i] - m[i]) }
        } else {
            for i in range { m[i] = g[i].addingProduct(w1 - 1, g[i] - m[i]) }
        }
    }

    /// v = v·beta2 + w2·g·g; p += negStepSize · m / (sqrt(v) / bias2Sqrt + eps).
    @inline(__always)
    private static func rest(_ range: Range<Int>, _ g: UnsafePointer<Float>, _ m: UnsafePointer<Float>,
                             _ v: UnsafeMutablePointer<Float>, _ p: UnsafeMutablePointer<Float>, _ beta2: Float, _ w2: Float,
                             _ bias2Sqrt: Float, _ eps: Float, _ negStepSize: Float) {
        for i in range {
            let gi = g[i]
            let vi = v[i] * beta2 + w2 * gi * gi
            v[i] = vi
            let denom = vi.squareRoot() / bias2Sqrt + eps
            p[i] = p[i] + negStepSize * m[i] / denom
        }
    }

    // MARK: state export / import (checkpoint resume)

    /// Snapshot of lr and per-parameter moments (only parameters that have been stepped).
    public func exportState() -> AdamState {
        var out: [String: AdamParameterState] = [:]
        for (name, p) in parameters {
            guard let s = moments[name], s.step > 0 else { continue }  // prepared, never stepped: as absent
            out[name] = AdamParameterState(step: s.step, shape: p.shape, m: s.m, v: s.v)
        }
        return AdamState(lr: lr, parameters: out)
    }

    /// Restores a snapshot taken by `exportState()`. Parameters absent from the snapshot start
    /// fresh (step 0); a name not held by this optimizer or a shape mismatch is an error and
    /// leaves the optimizer unchanged.
    public func importState(_ state: AdamState) throws {
        let shapes = Dictionary(uniqueKeysWithValues: parameters.map { ($0.0, $0.1.shape) })
        var fresh: [String: Moments] = [:]
        for (name, s) in state.parameters {
            guard let shape = shapes[name] else { throw OptimError.unknownParameter(name: name) }
            let n = Tensor.elementCount(shape)
            guard s.shape == shape, s.m.count == n, s.v.count == n else {
                throw OptimError.shapeMismatch(name: name, expected: shape, found: s.shape)
            }
            guard s.step >= 0 else {
                throw OptimError.malformedState(key: name + ".step", reason: "negative step \(s.step)")
            }
            let mo = Moments(count: n)
            mo.m = s.m; mo.v = s.v; mo.step = s.step
            fresh[name] = mo
        }
        moments = fresh
        lr = state.lr
    }

    /// The state as flat tensors for a safetensors checkpoint, PyTorch-like names:
    /// `<param>.exp_avg`, `<param>.exp_avg_sq` (parameter shape), `<param>.step` (shape [],
    /// Float32 holding the integer step, exact below 2^24) and `lr` (shape [1], see `lrBits`).
    /// lr is stored losslessly as two Float32 words of its Double bit pattern under `lr_bits`.
    public func stateTensors() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (name, p) in parameters {
            guard let s = moments[name], s.step > 0 else { continue }  // prepared, never stepped: as absent
            d[name + ".exp_avg"] = Tensor(shape: p.shape, data: s.m)
            d[name + ".exp_avg_sq"] = Tensor(shape: p.shape, data: s.v)
            d[name + ".step"] = Tensor(scalar: Float(s.step))
        }
        d["lr_bits"] = Tensor(shape: [2], data: Adam.doubleToWords(lr))
        return d
    }

    /// Inverse of `stateTensors()`.
    public func loadStateTensors(_ d: [String: Tensor]) throws {
        guard let lrT = d["lr_bits"], lrT.count == 2 else {
            throw OptimError.malformedState(key: "lr_bits", reason: "missing or not 2 elements")
        }
        var params: [String: AdamParameterState] = [:]
        let held = Set(parameters.map { $0.0 })
        for key in d.keys where key != "lr_bits" {
            let suffixes = [".exp_avg_sq", ".exp_avg", ".step"]
            guard let suf = suffixes.first(where: { key.hasSuffix($0) }) else {
                throw OptimError.malformedState(key: key, reason: "expected <param>.exp_avg, .exp_avg_sq or .step")
            }
            let name = String(key.dropLast(suf.count))
            guard held.contains(name) else { throw OptimError.unknownParameter(name: name) }
        }
        for (name, p) in parameters {
            let mk = name + ".exp_avg", vk = name + ".exp_avg_sq", sk = name + ".step"
            let present = [mk, vk, sk].filter { d[$0] != nil }
            if present.isEmpty { continue }
            guard let m = d[mk], let v = d[vk], let s = d[sk], s.count == 1 else {
                throw OptimError.malformedState(key: name, reason: "needs exp_avg, exp_avg_sq and a scalar step together")
            }
            guard m.shape == p.shape else { throw OptimError.shapeMismatch(name: mk, expected: p.shape, found: m.shape) }
            guard v.shape == p.shape else { throw OptimError.shapeMismatch(name: vk, expected: p.shape, found: v.shape) }
            params[name] = AdamParameterState(step: Int(s.data[0]), shape: p.shape, m: m.data, v: v.data)
        }
        try importState(AdamState(lr: Adam.wordsToDouble(lrT.data), parameters: params))
    }

    static func doubleToWords(_ x: Double) -> [Float] {
        let b = x.bitPattern
        return [Float(bitPattern: UInt32(truncatingIfNeeded: b >> 32)),
                Float(bitPattern: UInt32(truncatingIfNeeded: b))]
    }

    static func wordsToDouble(_ w: [Float]) -> Double {
        Double(bitPattern: UInt64(w[0].bitPattern) << 32 | UInt64(w[1].bitPattern))
    }
}

/// One parameter's Adam state (`exp_avg` = m, `exp_avg_sq` = v, `step`).
public struct AdamParameterState: Codable, Equatable {
    public var step: Int
    public var shape: [Int]
    public var m: [Float]
    public var v: [Float]
    public init(step: Int, shape: [Int], m: [Float], v: [Float]) {
        self.step = step; self.shape = shape; self.m = m; self.v = v
    }
}

/// Snapshot of an `Adam` optimizer: learning rate and per-parameter state by name.
public struct AdamState: Codable, Equatable {
    public var lr: Double
    public var parameters: [String: AdamParameterState]
    public init(lr: Double, parameters: [String: AdamParameterState]) {
        self.lr = lr; self.parameters = parameters
    }
}
