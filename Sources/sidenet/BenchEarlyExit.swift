import Foundation
import Models
import Tensors

// `sidenet bench models`, early-exit part: where MainNet inference time goes (prefix share of
// time against its share of FLOPs) and the speed-up of early exit over a stream of batches,
// per batch and queued (remainder on full batches), against what parameters and FLOPs predict.
// Every configuration is timed in --exit-repeat rounds after one warm-up, the MainNet alone,
// per-batch and queued early exit alternating within each round so that load from other
// processes hits all three alike; the speed-up printed first is best time / best time, the
// median of the rounds' own ratios beside it.

extension BenchModels {
    func benchEarlyExit(_ arch: String, model m: SideNetModel, costs: ComputeBreakdown, first x: MainNetActivation,
                        rates: [Double]) throws {
        let effective = m.effectiveComputeBreakdown(inputSize: inputSize)
        // Where inference time goes: the prefix (stem + blocks before the SideNet) against its FLOPs share.
        var tPre: [Double] = [], tAll: [Double] = []
        for round in 0...exitRepeats {
            let a = try seconds { _ = try m.forwardPrefix(x, mode: .eval) }
            let f = try seconds { _ = try m.forwardMain(x, mode: .eval) }
            if round > 0 { tPre.append(a); tAll.append(f) }
        }
        let share = { (c: ComputeBreakdown) in String(format: "%.2f", Double(c.prefix.flops) / Double(c.mainNet.flops)) }
        print("\(arch) prefix share of MainNet inference: time \(String(format: "%.2f", tPre.min()! / tAll.min()!)) "
              + "(median of rounds \(String(format: "%.2f", median(zip(tPre, tAll).map { $0 / $1 })))), nominal FLOPs \(share(costs))"
              + (effective.map { ", effective FLOPs \(share($0))" } ?? ""))
        // The stream: `x` then further batches of distinct random images.
        var rng = SeededGenerator(seed: 3)
        let inputs = [x] + (1..<stream).map { _ in MainNetActivation(images: Tensor.normal(x.tensor.shape, rng: &rng)) }
        var conf: [Float] = []
        for b in inputs { conf += ClassPrediction.rows(m.sideLogits(try m.forwardPrefix(b, mode: .eval), mode: .eval)).map(\.confidence) }
        conf.sort()
        m.clearCaches()
        let total = conf.count
        for r in rates {
            // the (1 - r) quantile: examples with confidence >= theta are the top r fraction
            let theta = conf[min(total - 1, max(0, Int((Double(total) * (1 - r)).rounded())))]
            var perBatch: [[EarlyExitResult]] = [], queued: [[EarlyExitResult]] = []
            var tFull: [Double] = [], tBatch: [Double] = [], tQueued: [Double] = []
            for round in 0...exitRepeats {
                let f = try seconds { for b in inputs { _ = try m.forwardMain(b, mode: .eval) } }
                let e = try seconds { perBatch = try inputs.map { try m.earlyExit($0, theta: theta) } }
                let q = try seconds {
                    queued = try earlyExitStream(m.earlyExitStages(), inputs: inputs, theta: theta, remainderBatch: batch)
                }
                if round > 0 { tFull.append(f); tBatch.append(e); tQueued.append(q) }
            }
            m.clearCaches()
            let same = zip(perBatch, queued).allSatisfy { a, b in zip(a, b).allSatisfy { $0.exit == $1.exit && $0.predicted == $1.predicted } }
            let exited = perBatch.joined().filter { $0.exit == .side }.count
            let actual = Double(exited) / Double(total)
            let byParams = Double(costs.mainNet.parameters) / costs.expectedParameters(exitRate: actual)
            let byFLOPs = Double(costs.mainNet.flops) / costs.expectedFLOPs(exitRate: actual)
            let (sq, sb) = (tFull.min()! / tQueued.min()!, tFull.min()! / tBatch.min()!)
            let (mq, mb) = (median(zip(tFull, tQueued).map { $0 / $1 }), median(zip(tFull, tBatch).map { $0 / $1 }))
            var line = "\(arch) early exit, rate \(f3(actual)) (\(stream) x \(batch) images): measured speed-up queued \(f2(sq))x "
                + "(median \(f2(mq))x), per batch \(f2(sb))x (median \(f2(mb))x); predicted by params \(f2(byParams))x, "
                + "by nominal FLOPs \(f2(byFLOPs))x (measured/nominal: queued \(f2(sq / byFLOPs)), per batch \(f2(sb / byFLOPs)))"
            if let e = effective {
                let byEffective = Double(e.mainNet.flops) / e.expectedFLOPs(exitRate: actual)
                line += "; by effective FLOPs (taps reading real input) \(f2(byEffective))x (measured/effective: queued "
                    + "\(f2(sq / byEffective)), per batch \(f2(sb / byEffective)))"
            }
            print(line + "; same answers: \(same ? "yes" : "NO")")
        }
    }
}

private func f2(_ v: Double) -> String { String(format: "%.2f", v) }
private func f3(_ v: Double) -> String { String(format: "%.3f", v) }

/// Median of a non-empty list.
func median(_ v: [Double]) -> Double {
    let s = v.sorted(), n = s.count
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}
