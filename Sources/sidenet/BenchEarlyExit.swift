import Foundation
import Models
import Tensors

// `sidenet bench models`, early-exit part: where MainNet inference time goes (prefix share of
// time against its share of FLOPs) and the speed-up of early exit over a stream of batches,
// per batch and queued (remainder on full batches), against what parameters and FLOPs predict.

extension BenchModels {
    func benchEarlyExit(_ arch: String, model m: SideNetModel, costs: ComputeBreakdown, first x: MainNetActivation,
                        rates: [Double]) throws {
        // Where inference time goes: the prefix (stem + blocks before the SideNet) against its FLOPs share.
        var tPre = Double.infinity, tAll = Double.infinity
        for round in 0...repeats {
            let a = try seconds { _ = try m.forwardPrefix(x, mode: .eval) }
            let f = try seconds { _ = try m.forwardMain(x, mode: .eval) }
            if round > 0 { tPre = min(tPre, a); tAll = min(tAll, f) }
        }
        print("\(arch) prefix share of MainNet inference: time \(String(format: "%.2f", tPre / tAll)), "
              + "FLOPs \(String(format: "%.2f", Double(costs.prefix.flops) / Double(costs.mainNet.flops)))")
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
            // MainNet alone, per-batch and queued early exit alternate within each round (best of
            // each kept), so that load from other processes hits all three alike.
            var tFull = Double.infinity, tBatch = Double.infinity, tQueued = Double.infinity
            for round in 0...repeats {
                let f = try seconds { for b in inputs { _ = try m.forwardMain(b, mode: .eval) } }
                let e = try seconds { perBatch = try inputs.map { try m.earlyExit($0, theta: theta) } }
                let q = try seconds {
                    queued = try earlyExitStream(m.earlyExitStages(), inputs: inputs, theta: theta, remainderBatch: batch)
                }
                if round > 0 { tFull = min(tFull, f); tBatch = min(tBatch, e); tQueued = min(tQueued, q) }
            }
            m.clearCaches()
            let same = zip(perBatch, queued).allSatisfy { a, b in zip(a, b).allSatisfy { $0.exit == $1.exit && $0.predicted == $1.predicted } }
            let exited = perBatch.joined().filter { $0.exit == .side }.count
            let actual = Double(exited) / Double(total)
            let byParams = Double(costs.mainNet.parameters) / costs.expectedParameters(exitRate: actual)
            let byFLOPs = Double(costs.mainNet.flops) / costs.expectedFLOPs(exitRate: actual)
            let (sq, sb) = (tFull / tQueued, tFull / tBatch)
            print("\(arch) early exit, rate \(String(format: "%.3f", actual)) (\(stream) x \(batch) images): measured speed-up "
                  + "queued \(String(format: "%.2f", sq))x, per batch \(String(format: "%.2f", sb))x; predicted by params "
                  + "\(String(format: "%.2f", byParams))x, by FLOPs \(String(format: "%.2f", byFLOPs))x (measured/FLOPs: queued "
                  + "\(String(format: "%.2f", sq / byFLOPs)), per batch \(String(format: "%.2f", sb / byFLOPs)); "
                  + "same answers: \(same ? "yes" : "NO"))")
        }
    }
}
