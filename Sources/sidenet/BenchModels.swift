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
            guard let config = ResNetConfig.preset(arch, numClasses: 10) else {
                throw ModelError.unknownArchitecture(arch, known: ResNetConfig.presetNames)
            }
            var rng = SeededGenerator(seed: 1)
            let m = try SideNetResNet(config: config, inputHeight: inputSize, inputWidth: inputSize, rng: &rng)
            let x = Tensor.normal([batch, 3, inputSize, inputSize], rng: &rng)
            let labels = (0..<batch).map { _ in rng.nextInt(below: 10) }
            let costs = m.computeBreakdown()
            let tInfer = best { _ = m.forwardRest(m.forwardPrefix(x, mode: .eval), mode: .eval) }
            let gflopsInfer = Double(costs.mainNet.flops) * Double(batch) / tInfer / 1e9
            print("\(arch) inference: \(String(format: "%.1f", Double(batch) / tInfer)) img/s "
                  + "(\(String(format: "%.1f", gflopsInfer)) GFLOP/s)")
            if !noTrain {
                let adam = Adam(parameters: m.namedParameters(), lr: 1e-4)
                let tTrain = best {
                    m.zeroGrad()
                    let out = m.forwardAll(x, mode: .train)
                    let dMain = softmaxCrossEntropy(logits: out.main, labels: labels).dLogits
                    let dSide = softmaxCrossEntropy(logits: out.side[0], labels: labels).dLogits
                    m.backwardAll(main: dMain, side: [dSide])
                    adam.step()
                }
                print("\(arch) training step (fwd+bwd+Adam, with SideNet): \(String(format: "%.1f", Double(batch) / tTrain)) img/s")
            }
            if rates.isEmpty { continue }
            // Where inference time goes: the prefix (stem + blocks before the SideNet) against its FLOPs share.
            var tPre = Double.infinity, tAll = Double.infinity
            for round in 0...repeats {
                let a = seconds { _ = m.forwardPrefix(x, mode: .eval) }
                let f = seconds { _ = m.forwardRest(m.forwardPrefix(x, mode: .eval), mode: .eval) }
                if round > 0 { tPre = min(tPre, a); tAll = min(tAll, f) }
            }
            print("\(arch) prefix share of MainNet inference: time \(String(format: "%.2f", tPre / tAll)), "
                  + "FLOPs \(String(format: "%.2f", Double(costs.prefix.flops) / Double(costs.mainNet.flops)))")
            let conf = ClassPrediction.rows(m.sideLogits(m.forwardPrefix(x, mode: .eval), mode: .eval)).map(\.confidence).sorted()
            for r in rates {
                // the (1 - r) quantile: examples with confidence >= theta are the top r fraction
                let k = min(batch - 1, max(0, Int((Double(batch) * (1 - r)).rounded())))
                let theta = conf[k]
                var exited = 0
                // MainNet alone and early exit alternate within each round (best of each kept), so
                // that load from other processes hits both alike.
                var tFull = Double.infinity, tExit = Double.infinity
                for round in 0...repeats {
                    let f = seconds { _ = m.forwardRest(m.forwardPrefix(x, mode: .eval), mode: .eval) }
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

    func benchText(_ arch: String) throws {
        let encoder: TransformerEncoder
        switch arch {
        case "bert-base": encoder = BertModel(config: try BertConfig.named("bert-base-uncased"), seed: 1)
        case "bert-large": encoder = BertModel(config: try BertConfig.named("bert-large-uncased"), seed: 1)
        case "distilbert": encoder = DistilBertModel(config: try DistilBertConfig.named("distilbert-base-uncased"), seed: 1)
        default: throw ValidationError("unknown text architecture \(arch) (bert-base, bert-large, distilbert)")
        }
        let model = TransformerClassifier(encoder: encoder, outputs: 1, seed: 1)
        var rng = SeededGenerator(seed: 2)
        let side = MLPHead(inFeatures: encoder.hiddenSize, outputs: 1, rng: &rng)
        func tokens(_ b: Int) throws -> TokenBatch {
            try TokenBatch(padding: (0..<b).map { _ in [101] + (0..<(seqLen - 2)).map { _ in 1000 + rng.nextInt(below: 20000) } + [102] })
        }
        let inferBatch = try tokens(textBatch)
        let tInfer = try best { _ = try model.forward(inferBatch, mode: .eval) }
        print("\(arch) inference, \(textBatch) x \(seqLen) tokens: \(String(format: "%.2f", Double(textBatch) / tInfer)) seq/s")
        if noTrain { return }
        let train = try tokens(trainBatch)
        let labels = (0..<trainBatch).map { _ in rng.nextInt(below: 2) }
        let attach = encoder is BertModel ? 3 : 0
        let params = model.namedParameters() + scoped("sidenet", side.namedParameters())
        let adam = Adam(parameters: params, lr: 1e-5)
        let tTrain = try best {
            for (_, p) in params { p.zeroGrad() }
            let h = try encoder.forwardPrefix(train, throughLayer: attach, mode: .train)
            let s = side.forward(TransformerEncoder.cls(h), mode: .train)
            let f = try encoder.forwardRest(h, mask: train.mask, fromLayer: attach + 1, mode: .train)
            let m = model.head.forward(f, mode: .train)
            let targets = labels.map(Float.init)
            let dm = sigmoidBinaryCrossEntropyWithLogits(logits: m, targets: targets).dLogits
            let ds = sigmoidBinaryCrossEntropyWithLogits(logits: s, targets: targets).dLogits
            var dh = encoder.backwardRest(model.head.backward(dm))
            let dc = TransformerEncoder.clsGradient(side.backward(ds), length: train.length)
            for i in 0..<dh.count { dh.data[i] += dc.data[i] }
            encoder.backwardPrefix(dh)
            adam.step()
        }
        print("\(arch) training step (fwd+bwd+Adam, with SideNet), \(trainBatch) x \(seqLen) tokens: "
              + "\(String(format: "%.2f", Double(trainBatch) / tTrain)) seq/s")
    }
}
