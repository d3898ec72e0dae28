import Foundation
import Layers
import Models
import Specs
import Tensors
import WeightIO

/// Wall-clock timing of real early exit at one theta on the test split.
public struct EarlyExitTiming: Sendable {
    public var theta: Double
    public var inputs: Int
    public var exits: Int
    /// Median over repeats of (seconds of all batches) / inputs; inputs are prepared
    /// (decoded, tokenised) before the clock starts, so only the networks are timed.
    public var secondsPerInput: Double
    /// The same for the MainNet alone (prefix + remainder + head, no SideNet).
    public var mainnetSecondsPerInput: Double
    /// Fraction of correct early-exit answers.
    public var accuracy: Double
}

extension Runner {
    /// Re-runs the test split of `spec` from a harness checkpoint with batch-compacted early exit
    /// (`Models.earlyExit`: the MainNet remainder runs only on the examples whose SideNet
    /// max-softmax confidence is below theta) at each theta, `repeats` times, and measures seconds
    /// per input. Loads the checkpoint as `evaluate` does.
    public static func measureEarlyExit(spec: ExperimentSpec, checkpoint: URL, thetas: [Double], baseDir: URL,
                                        repeats: Int = 3, progress: ProgressSink = SilentProgress()) throws -> [EarlyExitTiming] {
        guard repeats >= 1 else { throw RunnerError.invalid("--repeats must be at least 1, not \(repeats)") }
        let data = try PreparedData.load(spec, baseDir: baseDir)
        let net = try loadForMeasurement(spec, checkpoint: checkpoint, data: data, baseDir: baseDir)
        let bs = spec.evaluation.batchSize
        let batches = stride(from: 0, to: data.test.count, by: bs).map { Array(data.test[$0..<min(data.test.count, $0 + bs)]) }
        let labels = batches.map { $0.map { data.labels[$0] } }
        let runner: (Int, Float) throws -> [EarlyExitResult]
        let mainOnly: (Int) throws -> Void
        let model = net.model
        let inputs = try batches.map { try data.mainNetInput($0) }
        runner = { b, theta in try model.earlyExit(inputs[b], theta: theta) }
        mainOnly = { b in _ = try model.forwardMain(inputs[b], mode: .eval); model.clearCaches() }
        func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }
        let n = Double(max(data.test.count, 1))
        // One untimed pass of each path first (allocations, caches, thread start-up).
        for b in batches.indices { try mainOnly(b); _ = try runner(b, Float(thetas.first ?? 0.5)) }
        var mainTimes = [Double]()
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for b in batches.indices { try mainOnly(b) }
            mainTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / n)
        }
        var out = [EarlyExitTiming]()
        progress.begin("measure \(spec.name)", total: thetas.count, unit: "θ")
        for (i, theta) in thetas.enumerated() {
            var times = [Double](), exits = 0, correct = 0
            for rep in 0..<repeats {
                let t0 = DispatchTime.now().uptimeNanoseconds
                var results = [[EarlyExitResult]]()
                for b in batches.indices { results.append(try runner(b, Float(theta))) }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / n)
                if rep == 0 {
                    for (b, rs) in results.enumerated() {
                        for (r, res) in rs.enumerated() {
                            if res.exit == .side { exits += 1 }
                            if res.predicted == labels[b][r] { correct += 1 }
                        }
                    }
                }
            }
            out.append(EarlyExitTiming(theta: theta, inputs: data.test.count, exits: exits, secondsPerInput: median(times),
                                       mainnetSecondsPerInput: median(mainTimes), accuracy: Double(correct) / n))
            progress.advance(to: i + 1)
        }
        progress.end("\(thetas.count) thresholds")
        return out
    }

    /// The net of `spec` with a checkpoint's weights (heads-only checkpoints take the backbone
    /// from the spec's `mainnet.weights`); the checkpoint must hold a SideNet.
    static func loadForMeasurement(_ spec: ExperimentSpec, checkpoint: URL, data: PreparedData, baseDir: URL) throws -> Net {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: checkpoint) } catch {
            throw RunnerError.checkpoint(path: checkpoint.path, reason: "\(error)")
        }
        guard file.tensors.keys.contains(where: { $0.hasPrefix("sidenet.") }) else {
            throw RunnerError.checkpoint(path: checkpoint.path, reason: "holds no sidenet.* tensors (a baseline checkpoint?)")
        }
        let seed = file.metadata["seed"].flatMap(Int.init) ?? 0
        let (net, _, _) = try buildNet(spec, data: data, seed: seed, baseDir: baseDir)
        let hasBackbone = file.tensors.keys.contains { !$0.hasPrefix("head.") && !$0.hasPrefix("sidenet.") && !$0.hasPrefix("optim.") }
        let target: Module = hasBackbone ? net.module : CompositeModule([("head", net.head), ("sidenet", net.side)])
        try loadStateDict(into: target, stored: file.tensors, source: checkpoint.lastPathComponent,
                          options: StateDictLoadOptions(ignoredPrefixes: ["optim."]))
        return net
    }
}
