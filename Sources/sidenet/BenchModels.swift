import ArgumentParser
import Foundation
import Layers
import Models
import Optim
import Tensors

/// `sidenet bench models`: ResNet throughput (inference, training step) and the wall-clock
/// speed-up of early-exit inference against the one predicted by parameters and FLOPs.
struct BenchModels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "ResNet images/s and BERT/DistilBERT sequences/s (inference, training step with Adam), and early-exit speed-ups.",
        discussion: """
            Random weights (seeded). Inference = MainNet alone (prefix + remainder + head), eval mode. \
            Training step = forwardAll in train mode with the SideNet, cross-entropy on both outputs, \
            backwardAll, and an Adam step over every parameter. Text models (bert-base, distilbert, \
            bert-large; random weights, uncased vocabulary size): inference = encoder + head on \
            --text-batch x --seq-len tokens; training step = prefix, SideNet on the [CLS] state, rest, \
            head, both sigmoid losses, backward and Adam on --train-batch sequences. Early exit: theta is set to the batch quantile of SideNet confidences that \
            makes the requested fraction exit; measured speed-up = time(MainNet alone) / \
            time(early exit), the two timed alternately (best of --repeat each), predicted = MainNet cost / expected cost at that exit rate.
            """)

    @Option(help: "Comma-separated architectures.") var archs: String = "resnet18,resnet50,resnet152"
    @Option(help: "Images per batch.") var batch: Int = 128
    @Option(name: .long, help: "Input height and width.") var inputSize: Int = 32
    @Option(parsing: .unconditional, help: "Threads for OpenBLAS and sidenet loops.") var threads: Int = 2
    @Option(name: .customLong("repeat"), help: "Timed repeats (best is reported) after one warm-up.") var repeats: Int = 3
    @Flag(help: "Skip the training-step measurement.") var noTrain = false
    @Option(help: "Exit rates for the early-exit measurement (comma-separated; empty to skip).") var exitRates: String = "0.25,0.5,0.75"
    @Option(help: "Comma-separated text architectures (empty to skip).") var textArchs: String = "bert-base,distilbert"
    @Option(help: "Tokens per sequence for text models.") var seqLen: Int = 64
    @Option(help: "Sequences per inference batch for text models.") var textBatch: Int = 32
    @Option(help: "Sequences per training batch for text models.") var trainBatch: Int = 16

    func validate() throws {
        guard batch >= 2 else { throw ValidationError("--batch must be at least 2") }
        guard threads >= 1, repeats >= 1, inputSize >= 16 else { throw ValidationError("--threads/--repeat >= 1, --input-size >= 16") }
    }

    func best(_ body: () throws -> Void) rethrows -> Double {
        try body()
        var t = Double.infinity
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            t = min(t, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        return t
    }

    /// Best time of one training step with the SideNet: forward, dL/dlogits of both heads by
    /// `dLogits` (MainNet first), backward, Adam over every parameter (created once, `lr`).
    func trainStepSeconds(_ m: SideNetModel, _ x: MainNetActivation, lr: Double,
                          dLogits: (Tensor) -> Tensor) throws -> Double {
        let adam = Adam(parameters: m.namedParameters(), lr: lr)
        return try best {
            m.zeroGrad()
            let out = try m.forwardAll(x, mode: .train)
            let dMain = dLogits(out.main), dSide = dLogits(out.side[0])
            m.backwardAll(main: dMain, side: [dSide])
            adam.step()
        }
    }

    /// Wall time in seconds of one run of `body`.
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    func run() throws {
        Threads.set(threads)
        let rates = exitRates.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        print("batch \(batch), \(inputSize)x\(inputSize), \(threads) thread(s), best of \(repeats)")
        for arch in archs.split(separator: ",").map(String.init) {
            let m = try benchModel(arch, context: MainNetContext(inputSize: inputSize, outputs: 10), seed: 1)
            var rng = SeededGenerator(seed: 1)
            let x = MainNetActivation(images: Tensor.normal([batch, 3, inputSize, inputSize], rng: &rng))
            let labels = (0..<batch).map { _ in rng.nextInt(below: 10) }
            let costs = m.computeBreakdown()
            let tInfer = try best { _ = try m.forwardMain(x, mode: .eval) }
            let gflopsInfer = Double(costs.mainNet.flops) * Double(batch) / tInfer / 1e9
            print("\(arch) inference: \(String(format: "%.1f", Double(batch) / tInfer)) img/s "
                  + "(\(String(format: "%.1f", gflopsInfer)) GFLOP/s)")
            if !noTrain {
                let tTrain = try trainStepSeconds(m, x, lr: 1e-4) { softmaxCrossEntropy(logits: $0, labels: labels).dLogits }
                print("\(arch) training step (fwd+bwd+Adam, with SideNet): \(String(format: "%.1f", Double(batch) / tTrain)) img/s")
            }
            if rates.isEmpty { continue }
            // Where inference time goes: the prefix (stem + blocks before the SideNet) against its FLOPs share.
            var tPre = Double.infinity, tAll = Double.infinity
            for round in 0...repeats {
                let a = try seconds { _ = try m.forwardPrefix(x, mode: .eval) }
                let f = try seconds { _ = try m.forwardMain(x, mode: .eval) }
                if round > 0 { tPre = min(tPre, a); tAll = min(tAll, f) }
            }
            print("\(arch) prefix share of MainNet inference: time \(String(format: "%.2f", tPre / tAll)), "
                  + "FLOPs \(String(format: "%.2f", Double(costs.prefix.flops) / Double(costs.mainNet.flops)))")
            let conf = ClassPrediction.rows(m.sideLogits(try m.forwardPrefix(x, mode: .eval), mode: .eval)).map(\.confidence).sorted()
            m.clearCaches()
            for r in rates {
                // the (1 - r) quantile: examples with confidence >= theta are the top r fraction
                let k = min(batch - 1, max(0, Int((Double(batch) * (1 - r)).rounded())))
                let theta = conf[k]
                var exited = 0
                // MainNet alone and early exit alternate within each round (best of each kept), so
                // that load from other processes hits both alike.
                var tFull = Double.infinity, tExit = Double.infinity
                for round in 0...repeats {
                    let f = try seconds { _ = try m.forwardMain(x, mode: .eval) }
                    let e = try seconds { exited = try m.earlyExit(x, theta: theta).filter { $0.exit == .side }.count }
                    if round > 0 { tFull = min(tFull, f); tExit = min(tExit, e) }
                }
                let actual = Double(exited) / Double(batch)
                let predictedParams = Double(costs.mainNet.parameters) / costs.expectedParameters(exitRate: actual)
                let predictedFLOPs = Double(costs.mainNet.flops) / costs.expectedFLOPs(exitRate: actual)
                let measured = tFull / tExit
                print("\(arch) early exit, rate \(String(format: "%.3f", actual)): measured speed-up "
                      + "\(String(format: "%.2f", measured))x, predicted by params \(String(format: "%.2f", predictedParams))x, "
                      + "by FLOPs \(String(format: "%.2f", predictedFLOPs))x (measured/FLOPs \(String(format: "%.2f", measured / predictedFLOPs)))")
            }
        }
        for arch in textArchs.split(separator: ",").map(String.init) { try benchText(arch) }
    }

    /// A seeded random model of a preset, built through the family registry (as the runner builds it).
    func benchModel(_ arch: String, context: MainNetContext, seed: UInt64) throws -> SideNetModel {
        let family = try MainNetRegistry.requireFamily(forArch: arch)
        guard let config = family.presetConfig(arch) else {
            throw ValidationError("\(arch) is not a preset (\(family.presetNames.joined(separator: ", ")))")
        }
        return try family.makeModel(config, context: context, attach: [try family.defaultAttachPoint(config)], seed: seed)
    }

    func benchText(_ arch: String) throws {
        let model = try benchModel(arch, context: MainNetContext(outputs: 1), seed: 1)
        var rng = SeededGenerator(seed: 2)
        func tokens(_ b: Int) throws -> MainNetActivation {
            MainNetActivation(tokens: try TokenBatch(padding: (0..<b).map { _ in [101] + (0..<(seqLen - 2)).map { _ in 1000 + rng.nextInt(below: 20000) } + [102] }))
        }
        let inferBatch = try tokens(textBatch)
        let tInfer = try best { _ = try model.forwardMain(inferBatch, mode: .eval) }
        print("\(arch) inference, \(textBatch) x \(seqLen) tokens: \(String(format: "%.2f", Double(textBatch) / tInfer)) seq/s")
        if noTrain { return }
        let train = try tokens(trainBatch)
        let targets = (0..<trainBatch).map { _ in Float(rng.nextInt(below: 2)) }
        let tTrain = try trainStepSeconds(model, train, lr: 1e-5) {
            sigmoidBinaryCrossEntropyWithLogits(logits: $0, targets: targets).dLogits
        }
        print("\(arch) training step (fwd+bwd+Adam, with SideNet), \(trainBatch) x \(seqLen) tokens: "
              + "\(String(format: "%.2f", Double(trainBatch) / tTrain)) seq/s")
    }
}
