import Foundation
import Tensors
import XCTest

// Helpers that keep finite-difference checks able to fail:
// - `fdIndices` samples the entries with the largest analytic gradient (plus a few fixed ones), so
//   a check never compares only 0 with 0 (e.g. embedding rows of tokens the batch never uses);
// - `fdRelativeError` is relative to max(|numeric|, |analytic|, floor): a sign error or a factor
//   on a small gradient is caught, while Float32 rounding of values far below `floor` is not
//   mistaken for one.

/// Entries to check: `fixed` (bounds-clamped) plus the `top` entries of largest |gradient|.
func fdIndices(_ grad: Tensor, fixed: [Int] = [], top: Int = 3) -> [Int] {
    let n = grad.count
    let byMagnitude = (0..<n).sorted { abs(grad.data[$0]) > abs(grad.data[$1]) }
    var out: [Int] = []
    for i in fixed.map({ min(max(0, $0), n - 1) }) + byMagnitude.prefix(top) where !out.contains(i) { out.append(i) }
    return out
}

/// |numeric − analytic| / max(|numeric|, |analytic|, floor).
func fdRelativeError(numeric: Double, analytic: Double, floor: Double) -> Double {
    abs(numeric - analytic) / max(abs(numeric), abs(analytic), floor)
}

/// Fails unless some sampled finite difference of a tensor is clearly non-zero (a check that only
/// compares zeros proves nothing).
func assertSomeNonZero(_ numeric: [Double], floor: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(numeric.contains { abs($0) > floor },
                  "\(what): every sampled finite difference is below \(floor) (\(numeric)); the check compares nothing",
                  file: file, line: line)
}

/// dL/dv at v = `value` by the fourth-order central stencil
/// (−L(v+2h) + 8L(v+h) − 8L(v−h) + L(v−2h)) / 12h: its truncation error is O(h⁴), so h can stay
/// large enough for Float32 forwards without curvature passing for a wrong gradient. Restores `value`.
func centralDifference(at value: Float, h: Float, set: (Float) -> Void, loss: () throws -> Double) rethrows -> Double {
    var l: [Double] = []
    for k: Float in [2, 1, -1, -2] {
        set(value + k * h)
        l.append(try loss())
    }
    set(value)
    return (-l[0] + 8 * l[1] - 8 * l[2] + l[3]) / (12 * Double(h))
}

/// Moves every parameter away from a degenerate initialisation (BERT's std 0.02 makes attention
/// almost uniform, so query/key gradients are ~1e-5 and a finite-difference check of them would
/// compare noise): adds N(0, std²) noise, seeded.
func perturbParameters(_ params: [(String, Parameter)], std: Float, seed: UInt64) {
    var rng = SeededGenerator(seed: seed)
    for (_, p) in params {
        let noise = Tensor.normal(p.value.shape, std: std, rng: &rng)
        for i in 0..<p.value.count { p.value.data[i] += noise.data[i] }
    }
}

/// Parameters whose gradient is exactly zero by construction: a key bias adds q·b to a whole row of
/// attention scores, which the softmax ignores.
func hasZeroGradientByConstruction(_ name: String) -> Bool {
    name.hasSuffix("key.bias") || name.hasSuffix("k_lin.bias")
}

/// A finite-difference step suited to a tensor: 0.2 × its RMS value, within [2e-3, 1e-2] (1e-2 for zeros)
/// (embeddings initialised at std 0.02 feed a LayerNorm that is far from linear over ±1e-2).
func fdStep(_ values: Tensor) -> Float {
    let rms = (values.data.reduce(0) { $0 + $1 * $1 } / Float(max(1, values.count))).squareRoot()
    return rms == 0 ? 1e-2 : min(1e-2, max(2e-3, 0.2 * rms))
}

/// Scales attention query and key weights so attention is far from uniform: at BERT's init
/// (std 0.02) their gradients are ~1e-5, below what a Float32 finite difference resolves.
func sharpenAttention(_ params: [(String, Parameter)], factor: Float) {
    for (name, p) in params where name.hasSuffix("query.weight") || name.hasSuffix("key.weight")
        || name.hasSuffix("q_lin.weight") || name.hasSuffix("k_lin.weight") {
        for i in 0..<p.value.count { p.value.data[i] *= factor }
    }
}
