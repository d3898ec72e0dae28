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
            makes the requested fraction of a stream of --stream batches (distinct random images) exit; \
            measured speed-up = time(MainNet alone on the stream) / time(early exit on the stream), each \
            end to end (prefix, SideNet, remainder, answers), timed alternately (best of --repeat each): \
            'per batch' runs the remainder on each batch's survivors, 'queued' queues survivors across \
            batches and runs the remainder on full batches of --batch (EarlyExitQueue; same answers). \
            Predicted = MainNet cost / expected cost (prefix + SideNet + (1 - rate) x (rest + head)) at the rate that exited.
            """)

    @Option(help: "Comma-separated architectures.") var archs: String = "resnet18,resnet50,resnet152"
    @Option(help: "Images per batch.") var batch: Int = 128
    @Option(name: .long, help: "Input height and width.") var inputSize: Int = 32
    @Option(parsing: .unconditional, help: "Threads for OpenBLAS and sidenet loops.") var threads: Int = 2
    @Option(name: .customLong("repeat"), help: "Timed repeats (best is reported) after one warm-up.") var repeats: Int = 3
    @Flag(help: "Skip the training-step measurement.") var noTrain = false
    @Flag(help: "Forward 3x3 stride-1 layers on maps of 8x8 and more by Winograd F(2x2, 3x3) instead of F(4x4, 3x3) (for A/B runs).")
    var noWinograd4x4 = false
    @Option(help: "Exit rates for the early-exit measurement (comma-separated; empty to skip).") var exitRates: String = "0.25,0.5,0.75"
    @Option(help: "Batches in the early-exit stream (distinct random images).") var stream: Int = 4
    @Option(name: .customLong("exit-repeat"), help: "Timed rounds of every early-exit configuration (MainNet alone, per batch, queued, alternating; best and median reported) after one warm-up.")
    var exitRepeats: Int = 7
    @Option(help: "What is timed: 'wall' (elapsed) or 'cpu' (CPU time of all the process's threads; steadier on a loaded machine, counts spinning threads too).")
    var clock: String = "wall"
    @Flag(help: "Eval without BatchNorm folded into the convolutions (the layers in turn; for A/B timing).") var noFold = false
    @Flag(help: "Eval blocks on small maps in NCHW instead of channels-last (for A/B timing).") var noChannelsLast = false
    @Option(help: "Eval blocks whose output map has at most this many positions run channels-last (default 16: 4x4 maps and smaller; for A/B timing).")
    var channelsLastMaxPositions: Int?
    @Option(help: "Comma-separated text architectures (empty to skip).") var textArchs: String = "bert-base,distilbert"
    @Option(help: "Tokens per sequence for text models.") var seqLen: Int = 64
    @Option(help: "Sequences per inference batch for text models.") var textBatch: Int = 32
    @Option(help: "Sequences per training batch for text models.") var trainBatch: Int = 16

    func validate() throws {
        guard batch >= 2 else { throw ValidationError("--batch must be at least 2") }
        guard clock == "wall" || clock == "cpu" else { throw ValidationError("--clock must be wall or cpu, got '\(clock)'") }
        guard threads >= 1, repeats >= 1, exitRepeats >= 1, stream >= 1, inputSize >= 16 else {
            throw ValidationError("--threads/--repeat/--exit-repeat/--stream >= 1, --input-size >= 16")
        }
    }

    func best(_ body: () throws -> Void) rethrows -> Double {
        try body()
        var t = Double.infinity
        for _ in 0..<repeats { t = min(t, try seconds(body)) }
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

    /// Seconds of one run of `body` on `--clock`: elapsed, or CPU time of all the process's threads.
    func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = benchClock(clock)
        try body()
        return benchClock(clock) - t0
    }

    func run() throws {
        Threads.set(threads)
        if noWinograd4x4 { ConvTuning.winograd4x4 = false }
        if noFold { ConvTuning.foldBatchNorm = false }
        if let p = channelsLastMaxPositions { ConvTuning.channelsLastMaxPositions = p }
        if noChannelsLast { ConvTuning.channelsLastMaxPositions = 0 }
        let rates = exitRates.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        print("batch \(batch), \(inputSize)x\(inputSize), \(threads) thread(s), best of \(repeats), \(clock) clock")
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
            if !rates.isEmpty { try benchEarlyExit(arch, model: m, costs: costs, first: x, rates: rates) }
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
