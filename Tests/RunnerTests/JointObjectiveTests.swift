import Foundation
import XCTest
import Runner
import Specs
import Tensors

/// Regime full (the paper's joint fine-tuning): the gradient of L_M + α·L_S reaches the backbone
/// and matches finite differences; α scales exactly the SideNet's share; the baseline variant
/// never runs the SideNet.
final class JointObjectiveTests: XCTestCase {
    private func tinyResNet(_ variants: [String] = ["sidenet", "baseline"]) throws -> JointObjective {
        let spec = try TinySpecs.resnet(name: "joint", variants: variants, regime: "full")
        return try JointObjective(spec: spec, baseDir: SharedData.root, seed: 3)
    }

    private func param(_ o: JointObjective, _ name: String) throws -> Parameter {
        guard let p = o.parameters.first(where: { $0.0 == name })?.1 else {
            throw XCTSkip("no parameter \(name) in \(o.parameters.map(\.0))")
        }
        return p
    }

    private func grads(_ o: JointObjective, _ batch: [Int], alpha: Double, withSide: Bool) throws -> [String: [Float]] {
        _ = try o.gradients(batch, alpha: alpha, withSide: withSide)
        var out: [String: [Float]] = [:]
        for (k, p) in o.parameters { out[k] = p.grad.data }
        return out
    }

    /// Central differences of the total loss for a few elements of a backbone tensor before the
    /// attach point (reached by both losses), one after it, and the SideNet.
    func testJointGradientReachesBackboneAndMatchesFiniteDifferences() throws {
        let o = try tinyResNet()
        let batch = Array(o.trainIndices.prefix(8))
        let alpha = 1.0
        for name in ["conv1.weight", "layer1.0.conv2.weight", "layer4.0.conv1.weight", "sidenet.fc1.weight"] {
            let p = try param(o, name)
            _ = try o.gradients(batch, alpha: alpha, withSide: true)
            let analytic = p.grad.data
            let step = max(1, p.value.count / 5)
            func tolerance(_ a: Double, _ b: Double) -> Double { 0.03 * max(abs(a), abs(b)) + 2e-3 }
            var checked = 0
            let f0 = try o.loss(batch, alpha: alpha, withSide: true).total
            for i in Swift.stride(from: 0, to: p.value.count, by: step).prefix(5) {
                let saved = p.value.data[i]
                let h: Float = 1e-4  // BatchNorm over 8 examples is strongly curved: larger steps bias the estimate
                p.value.data[i] = saved + h
                let up = try o.loss(batch, alpha: alpha, withSide: true).total
                p.value.data[i] = saved - h
                let down = try o.loss(batch, alpha: alpha, withSide: true).total
                p.value.data[i] = saved
                // An element sitting on a kink (a max-pool tie or a ReLU at 0: the left and right
                // derivatives differ, so no gradient exists to compare with) is left out; at most
                // 2 of 5 may be. (The generated images of 2026-11-30 put conv1.weight[351] on one:
                // right 0.041, left 0.072; the analytic 0.042 is the right derivative.)
                let right = (up - f0) / Double(h), left = (f0 - down) / Double(h)
                if abs(right - left) > 0.1 * max(abs(right), abs(left)) + 4e-3 { continue }
                let fd = (up - down) / Double(2 * h)
                let g = Double(analytic[i])
                XCTAssertEqual(g, fd, accuracy: tolerance(g, fd), "\(name)[\(i)]: analytic \(g), finite differences \(fd)")
                checked += 1
            }
            XCTAssertGreaterThanOrEqual(checked, 3, "\(name): only \(checked) of 5 elements away from a kink")
        }
    }

    /// grad(α) = grad(L_M) + α·grad(L_S): the SideNet's share of a prefix weight scales with α
    /// (and is not zero: L_S reaches the backbone), weights after the attach point do not depend
    /// on α, the SideNet's own gradient is α times its α = 1 value.
    func testAlphaScalesTheSideNetShare() throws {
        let o = try tinyResNet()
        let batch = Array(o.trainIndices.prefix(8))
        let g0 = try grads(o, batch, alpha: 0, withSide: true)
        let g1 = try grads(o, batch, alpha: 1, withSide: true)
        let g3 = try grads(o, batch, alpha: 3, withSide: true)
        for name in ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight"] {
            let share1 = zip(g1[name]!, g0[name]!).map { Double($0 - $1) }
            let share3 = zip(g3[name]!, g0[name]!).map { Double($0 - $1) }
            let norm = sqrt(share1.reduce(0) { $0 + $1 * $1 })
            XCTAssertGreaterThan(norm, 1e-6, "\(name): the SideNet's loss does not reach the backbone")
            for (a, b) in zip(share3, share1) { XCTAssertEqual(a, 3 * b, accuracy: 1e-4 + 1e-3 * abs(3 * b), name) }
        }
        for name in ["layer4.0.conv2.weight", "head.fc2.weight"] {
            for (a, b) in zip(g3[name]!, g1[name]!) { XCTAssertEqual(a, b, accuracy: 1e-6 + 1e-5 * abs(b), name) }
        }
        for (a, b) in zip(g3["sidenet.fc2.weight"]!, g1["sidenet.fc2.weight"]!) {
            XCTAssertEqual(Double(a), 3 * Double(b), accuracy: 1e-6 + 1e-4 * abs(3 * Double(b)))
        }
    }

    /// The baseline variant: loss = L_M, no SideNet gradient, backbone gradients equal to the
    /// SideNet variant's at α = 0, and unchanged when the SideNet's weights are scrambled.
    func testBaselineIgnoresTheSideNet() throws {
        let o = try tinyResNet()
        let batch = Array(o.trainIndices.prefix(8))
        let withoutSide = try grads(o, batch, alpha: 1, withSide: false)
        let loss = try o.loss(batch, alpha: 1, withSide: false)
        XCTAssertNil(loss.side)
        XCTAssertEqual(loss.total, loss.main)
        let alphaZero = try grads(o, batch, alpha: 0, withSide: true)
        for (k, g) in withoutSide {
            if k.hasPrefix("sidenet.") {
                XCTAssertTrue(g.allSatisfy { $0 == 0 }, "\(k) has a gradient in the baseline variant")
            } else {
                XCTAssertEqual(g, alphaZero[k]!, "\(k): baseline gradient differs from L_M's")
            }
        }
        for (k, p) in o.parameters where k.hasPrefix("sidenet.") {
            for i in 0..<p.value.count { p.value.data[i] = Float(i % 7) - 3 }
        }
        XCTAssertEqual(try grads(o, batch, alpha: 1, withSide: false), withoutSide)
        XCTAssertEqual(try o.loss(batch, alpha: 1, withSide: false), loss)
    }

    /// The text MainNet too: the SideNet's share reaches the embeddings and the first block.
    func testJointGradientReachesTheTextEncoder() throws {
        let spec = try TinySpecs.bert(name: "joint-text", regime: "full")
        let o = try JointObjective(spec: spec, baseDir: SharedData.root, seed: 1)
        let batch = Array(o.trainIndices.prefix(8))
        let g0 = try grads(o, batch, alpha: 0, withSide: true)
        let g2 = try grads(o, batch, alpha: 2, withSide: true)
        let g1 = try grads(o, batch, alpha: 1, withSide: true)
        for name in ["embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight"] {
            guard let a0 = g0[name], let a1 = g1[name], let a2 = g2[name] else { return XCTFail("no \(name)") }
            let share1 = zip(a1, a0).map { Double($0 - $1) }, share2 = zip(a2, a0).map { Double($0 - $1) }
            XCTAssertGreaterThan(share1.map(abs).max() ?? 0, 1e-7, "\(name): L_S does not reach the encoder")
            for (b, a) in zip(share2, share1) { XCTAssertEqual(b, 2 * a, accuracy: 1e-5 + 1e-3 * abs(2 * a), name) }
        }
    }
}
