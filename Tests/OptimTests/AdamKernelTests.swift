import CHeadKernels
import Optim
import XCTest

/// Adam's element loop (`hk_adam_update`, AVX2 when the CPU has it) against the plain Swift
/// loop, bit for bit: the same operations rounded the same way.
final class AdamKernelTests: XCTestCase {
    private func values(_ n: Int, seed: UInt64, scale: Float) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return (Float(s >> 40) / Float(1 << 23) - 1) * scale
        }
    }

    func testElementLoopEqualsReferenceBitForBit() {
        let n = 70_003  // past the parallel chunk size, not a multiple of 8
        for (wd, beta1) in [(Float(0), 0.9), (Float(0.01), 0.9), (Float(0), 0.3), (Float(0.05), 0.3)] {
            for step in [1, 7] {
                let bias2 = 1 - pow(0.999, Double(step))
                var p1 = values(n, seed: 1, scale: 1), m1 = values(n, seed: 2, scale: 0.1)
                var v1 = values(n, seed: 3, scale: 0.01).map { $0 * $0 }
                let g = values(n, seed: 4, scale: 0.5)
                var p2 = p1, m2 = m1, v2 = v1
                let args = (w1: Float(1 - beta1), beta2: Float(0.999), w2: Float(1 - 0.999), bs: Float(bias2.squareRoot()),
                            eps: Float(1e-8), neg: Float(-3e-4 / (1 - pow(beta1, Double(step)))))
                for portable in [false, true] {
                    hk_force_portable(portable ? 1 : 0)
                    defer { hk_force_portable(0) }
                    var pf = p1, mf = m1, vf = v1
                    Adam.fastUpdate(value: &pf, grad: g, m: &mf, v: &vf, weightDecay: wd, w1: args.w1, beta2: args.beta2,
                                    w2: args.w2, bias2Sqrt: args.bs, eps: args.eps, negStepSize: args.neg)
                    if !portable {
                        Adam.referenceUpdate(value: &p2, grad: g, m: &m2, v: &v2, weightDecay: wd, w1: args.w1,
                                             beta2: args.beta2, w2: args.w2, bias2Sqrt: args.bs, eps: args.eps,
                                             negStepSize: args.neg)
                    }
                    let label = "wd \(wd) beta1 \(beta1) step \(step) portable \(portable)"
                    XCTAssertEqual(pf.map(\.bitPattern), p2.map(\.bitPattern), "parameters, \(label)")
                    XCTAssertEqual(mf.map(\.bitPattern), m2.map(\.bitPattern), "first moment, \(label)")
                    XCTAssertEqual(vf.map(\.bitPattern), v2.map(\.bitPattern), "second moment, \(label)")
                    XCTAssertNotEqual(pf, p1, "the step moved the parameters")
                }
                p1 = p2; m1 = m2; v1 = v2
            }
        }
    }
}
