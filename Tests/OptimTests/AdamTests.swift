import Foundation
import XCTest
import Optim
import Tensors

/// Fixture directory written by Tests/Fixtures/optim.py.
let optimFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/optim")

func loadJSON(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: optimFixtures.appendingPathComponent(name))
    return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

func floats(_ any: Any?) -> [Float] { (any as! [Any]).map { Float(($0 as! NSNumber).doubleValue) } }

final class AdamTests: XCTestCase {
    /// d/dW, d/db of mean((X W^T + b - Y)^2), accumulated in Double and cast to Float exactly as
    /// optim.py does, so both sides feed Adam identical gradients.
    func leastSquaresGrads(X: [Float], Y: [Float], W: [Float], b: [Float], N: Int, D: Int, K: Int)
        -> ([Float], [Float]) {
        var r = [Double](repeating: 0, count: N * K)
        for n in 0..<N { for k in 0..<K {
            var s = 0.0
            for d in 0..<D { s += Double(X[n * D + d]) * Double(W[k * D + d]) }
            r[n * K + k] = s + Double(b[k]) - Double(Y[n * K + k])
        } }
        let c = 2.0 / Double(N * K)
        var gw = [Float](repeating: 0, count: K * D), gb = [Float](repeating: 0, count: K)
        for k in 0..<K {
            for d in 0..<D {
                var s = 0.0
                for n in 0..<N { s += r[n * K + k] * Double(X[n * D + d]) }
                gw[k * D + d] = Float(c * s)
            }
            var s = 0.0
            for n in 0..<N { s += r[n * K + k] }
            gb[k] = Float(c * s)
        }
        return (gw, gb)
    }

    /// max_i |a_i - b_i| / max_i |b_i|: error relative to the tensor's scale. (Per-element
    /// relative error is meaningless for entries that cross zero during the 10 steps.)
    func maxRel(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var m = 0.0, scale = 0.0
        for i in 0..<a.count {
            m = max(m, abs(Double(a[i]) - Double(b[i])))
            scale = max(scale, abs(Double(b[i])))
        }
        return m / max(scale, 1e-30)
    }

    func testTenStepsMatchPyTorch() throws {
        let fx = try loadJSON("adam.json")
        let N = fx["N"] as! Int, D = fx["D"] as! Int, K = fx["K"] as! Int
        let X = floats(fx["X"]), Y = floats(fx["Y"])
        let cases = fx["cases"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let name = c["name"] as! String
            let betas = (c["betas"] as! [Double])
            let freeze = c["freeze_bias"] as! Bool
            let W = Parameter(Tensor(shape: [K, D], data: floats(fx["W0"])))
            let b = Parameter(Tensor(shape: [K], data: floats(fx["b0"])), frozen: freeze)
            let b0 = b.value.data
            let opt = Adam(parameters: [("weight", W), ("bias", b)], lr: c["lr"] as! Double,
                           betas: (betas[0], betas[1]), eps: c["eps"] as! Double,
                           weightDecay: c["weight_decay"] as! Double)
            let traj = c["trajectory"] as! [[String: Any]]
            XCTAssertEqual(traj.count, 10)
            var worst = 0.0
            for t in 0..<10 {
                if t == 5, let lr = c["lr_after5"] as? Double { opt.lr = lr }
                opt.zeroGrad()
                let (gw, gb) = leastSquaresGrads(X: X, Y: Y, W: W.value.data, b: b.value.data, N: N, D: D, K: K)
                W.grad.data = gw
                b.grad.data = gb   // a frozen parameter keeps a gradient but must not move
                opt.step()
                let rw = maxRel(W.value.data, floats(traj[t]["weight"]))
                let rb = maxRel(b.value.data, floats(traj[t]["bias"]))
                worst = max(worst, rw, rb)
                XCTAssertLessThanOrEqual(rw, 1e-6, "\(name) step \(t + 1): weight max rel diff \(rw)")
                XCTAssertLessThanOrEqual(rb, 1e-6, "\(name) step \(t + 1): bias max rel diff \(rb)")
            }
            // The parameters really moved (guards against a fixture that never changes).
            XCTAssertGreaterThan(maxRel(W.value.data, floats(fx["W0"])), 1e-3, name)
            if freeze { XCTAssertEqual(b.value.data, b0, "\(name): frozen bias moved") }
            let steps = c["steps"] as! [String: Int]
            XCTAssertEqual(opt.stepCount(of: "weight"), steps["weight"], name)
            XCTAssertEqual(opt.stepCount(of: "bias"), steps["bias"], name)
            print("Adam \(name): max relative difference to PyTorch over 10 steps = \(worst)")
        }
    }

    /// 5 steps, export, fresh optimizer, import, 5 more == 10 uninterrupted steps (bitwise).
    func testStateRoundTripResumesExactly() throws {
        func makeParams() -> [(String, Parameter)] {
            var rng = SeededGenerator(seed: 7)
            return [("a", Parameter(Tensor.normal([3, 5], rng: &rng))),
                    ("b", Parameter(Tensor.normal([4], rng: &rng))),
                    ("frozen", Parameter(Tensor.normal([2], rng: &rng), frozen: true))]
        }
        func setGrads(_ ps: [(String, Parameter)], step: Int) {
            for (i, (_, p)) in ps.enumerated() {
                for j in 0..<p.grad.count { p.grad.data[j] = Float(sin(Double(step * 31 + i * 7 + j))) }
            }
        }
        let ref = makeParams()
        let refOpt = Adam(parameters: ref, lr: 1e-2, weightDecay: 0.01)
        for s in 0..<10 { setGrads(ref, step: s); refOpt.step() }

        let first = makeParams()
        let opt1 = Adam(parameters: first, lr: 1e-2, weightDecay: 0.01)
        for s in 0..<5 { setGrads(first, step: s); opt1.step() }
        let state = opt1.exportState()
        XCTAssertNil(state.parameters["frozen"], "frozen parameter must have no state")
        let json = try JSONEncoder().encode(state)
        let decoded = try JSONDecoder().decode(AdamState.self, from: json)
        XCTAssertEqual(decoded, state)
        let tensors = opt1.stateTensors()

        for viaTensors in [false, true] {
            let second = makeParams()
            for (i, (_, p)) in second.enumerated() { p.value = first[i].1.value }
            let opt2 = Adam(parameters: second, lr: 123, weightDecay: 0.01)
            if viaTensors { try opt2.loadStateTensors(tensors) } else { try opt2.importState(decoded) }
            XCTAssertEqual(opt2.lr, 1e-2)
            for s in 5..<10 { setGrads(second, step: s); opt2.step() }
            for (i, (n, p)) in second.enumerated() {
                XCTAssertEqual(p.value.data, ref[i].1.value.data, "resumed '\(n)' differs (viaTensors \(viaTensors))")
            }
            XCTAssertEqual(opt2.stepCount(of: "a"), 10)
        }
    }

    func testImportRejectsUnknownNameAndShapeMismatch() {
        let opt = Adam(parameters: [("w", Parameter(Tensor(zeros: [2, 2])))], lr: 1)
        let bad = AdamState(lr: 1, parameters: ["x": AdamParameterState(step: 1, shape: [2, 2], m: [0, 0, 0, 0], v: [0, 0, 0, 0])])
        XCTAssertThrowsError(try opt.importState(bad)) { e in
            XCTAssertEqual(e as? OptimError, .unknownParameter(name: "x"))
            XCTAssertTrue("\(e)".contains("'x'"))
        }
        let wrong = AdamState(lr: 1, parameters: ["w": AdamParameterState(step: 1, shape: [4], m: [0, 0, 0, 0], v: [0, 0, 0, 0])])
        XCTAssertThrowsError(try opt.importState(wrong)) { e in
            XCTAssertEqual(e as? OptimError, .shapeMismatch(name: "w", expected: [2, 2], found: [4]))
        }
    }
}
