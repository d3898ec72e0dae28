import Foundation
import Layers
import Models
import Tensors
import XCTest

final class EarlyExitTests: XCTestCase {
    /// Early exit on a batch equals running the full model on each example alone, for
    /// theta 0 (all exit), 0.5, the median side confidence (a mix) and 1.1 (none exit).
    func testEarlyExitEqualsPerExampleFullModel() throws {
        for name in ["resnet_basic", "resnet_bottleneck"] {
            let f = try ResNetFixture(name)
            let m = try f.model()
            let x = f["input"]
            let n = x.shape[0]
            let sideConf = ClassPrediction.rows(f["eval.side_logits"]).map(\.confidence).sorted()
            let median = (sideConf[n / 2 - 1] + sideConf[n / 2]) / 2
            for theta: Float in [0, 0.5, median, 1.1] {
                let results = try m.earlyExit(x, theta: theta)
                XCTAssertEqual(results.count, n)
                var exits = 0
                for i in 0..<n {
                    let xi = x.gatherRows([i])
                    let full = m.forwardAll(xi, mode: .eval)
                    let side = ClassPrediction(logits: full.side[0].data)
                    let main = ClassPrediction(logits: full.main.data)
                    let r = results[i]
                    let tag = "\(name) theta \(theta) example \(i)"
                    XCTAssertLessThanOrEqual(Tensor(shape: [10], data: r.sideLogits).maxAbsDifference(full.side[0].reshaped([10])), 1e-5, tag)
                    XCTAssertEqual(r.sideConfidence, side.confidence, accuracy: 1e-6, tag)
                    if side.confidence >= theta {
                        exits += 1
                        XCTAssertEqual(r.exit, .side, tag)
                        XCTAssertNil(r.mainLogits, tag)
                        XCTAssertEqual(r.predicted, side.predicted, tag)
                        XCTAssertEqual(r.confidence, side.confidence, accuracy: 1e-6, tag)
                    } else {
                        XCTAssertEqual(r.exit, .main, tag)
                        let ml = try XCTUnwrap(r.mainLogits, tag)
                        XCTAssertLessThanOrEqual(Tensor(shape: [10], data: ml).maxAbsDifference(full.main.reshaped([10])), 1e-5, tag)
                        XCTAssertEqual(r.predicted, main.predicted, tag)
                        XCTAssertEqual(r.confidence, main.confidence, accuracy: 1e-6, tag)
                    }
                }
                if theta == 0 { XCTAssertEqual(exits, n) }
                if theta == 1.1 { XCTAssertEqual(exits, 0) }
                if theta == median { XCTAssertTrue(exits > 0 && exits < n, "\(name): median threshold should split the batch, \(exits) exits") }
            }
        }
    }

    /// The prefix runs once on the full batch; the remainder only on the continuing rows.
    func testRemainderRunsOnlyOnContinuingExamples() throws {
        var prefixCalls = 0, restRows: [[Float]] = []
        // activation row i = [i]; side logits row i: confidence rises with i
        let stages = EarlyExitStages<Tensor, Tensor>(
            prefix: { x in prefixCalls += 1; return x },
            side: { a in Tensor(shape: [a.shape[0], 2], data: a.data.flatMap { [$0, 0] }) },
            rest: { a in restRows.append(a.data); return Tensor(shape: [a.shape[0], 2], data: a.data.flatMap { [0, $0] }) })
        let x = Tensor(shape: [5, 1], data: [0, 3, 0.1, 2, 0.5])
        let r = try earlyExit(stages, input: x, theta: 0.8)   // sigmoid-like: softmax([v,0]) max >= 0.8 iff v >= ln 4
        XCTAssertEqual(prefixCalls, 1)
        XCTAssertEqual(restRows, [[0, 0.1, 0.5]])
        XCTAssertEqual(r.map(\.exit), [.main, .side, .main, .side, .main])
        XCTAssertEqual(r[1].predicted, 0)
        XCTAssertEqual(r[2].predicted, 1)
        XCTAssertEqual(r[2].mainLogits, [0, 0.1])
        // nobody continues: rest never runs
        restRows = []
        _ = try earlyExit(stages, input: Tensor(shape: [2, 1], data: [5, 6]), theta: 0.5)
        XCTAssertTrue(restRows.isEmpty)
    }

    func testConfidenceSoftmaxAndSigmoid() {
        let p = ClassPrediction(logits: [Float(1), 2, 3])
        XCTAssertEqual(p.predicted, 2)
        let e = [1.0, 2, 3].map { exp($0) }
        XCTAssertEqual(Double(p.confidence), e[2] / e.reduce(0, +), accuracy: 1e-6)
        // one sigmoid output: max(p, 1 - p)
        let s = ClassPrediction(logits: [Float(-2)])
        XCTAssertEqual(s.predicted, 0)
        XCTAssertEqual(Double(s.confidence), 1 - 1 / (1 + exp(2.0)), accuracy: 1e-6)
        let s2 = ClassPrediction(logits: [Float(0.5)])
        XCTAssertEqual(s2.predicted, 1)
        XCTAssertEqual(Double(s2.confidence), 1 / (1 + exp(-0.5)), accuracy: 1e-6)
        XCTAssertEqual(ClassPrediction(logits: [Float(0)]).confidence, 0.5)
    }
}
