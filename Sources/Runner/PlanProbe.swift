import Foundation
import Datasets
import Layers
import Models
import Optim
import Specs
import Tensors

/// Measures this machine's speed on one experiment's workload: a few timed training steps and an
/// evaluation pass of the spec's real architecture at its batch sizes and input size / sequence
/// length. Weight files are not needed (random weights of the same shape cost the same); the data
/// is used when present (real sizes and, for text, real padded lengths), else stand-in tensors of
/// the spec's shape and the data set's documented sizes.
public enum PlanProbe {
    public struct Result {
        public var workload: PlanWorkload
        public var throughput: PlanThroughput
        /// How the probe measured (data found or not, sequence length used).
        public var note: String
    }

    /// `steps` timed batches per measurement (after one untimed warm-up batch).
    public static func measure(_ spec: ExperimentSpec, baseDir: URL, steps: Int = 2, seqLen: Int? = nil) throws -> Result {
        precondition(steps >= 1)
        var probe = spec
        probe.mainnet.weights = nil  // same architecture, random weights: same cost
        let data: PreparedData
        var note: String
        if let real = try? PreparedData.load(spec, baseDir: baseDir) {
            data = real
            note = "data found"
        } else {
            data = standIn(spec, seqLen: seqLen)
            note = "data absent: documented sizes"
            if spec.data.dataset == .sst2 { note += ", \(seqLen ?? spec.data.maxLength ?? 128) tokens per sentence (upper bound)" }
        }
        if spec.mainnet.arch.family != .resnet {
            // a config.json that is not on disk yet: the preset of the same architecture
            if case .path(let p)? = spec.mainnet.config, !FileManager.default.fileExists(atPath: resolve(p, baseDir).path) {
                probe.mainnet.config = spec.mainnet.arch.presetConfig
            }
            if let v = spec.mainnet.vocab, !FileManager.default.fileExists(atPath: resolve(v, baseDir).path) {
                probe.mainnet.vocab = nil
            }
        }
        let (net, _, _) = try buildNet(probe, data: data, seed: 0, baseDir: baseDir)
        let workload = workloadOf(spec, data: data)
        let throughput = try time(net, spec: spec, data: data, steps: steps)
        return Result(workload: workload, throughput: throughput, note: note)
    }

    static func workloadOf(_ spec: ExperimentSpec, data: PreparedData) -> PlanWorkload {
        let frozen = spec.training.regime.declaration.cachesFeatures
        return PlanWorkload(experiment: spec.name, regime: spec.training.regime.rawValue,
                            runs: spec.seeds.count * spec.variants.count, epochs: spec.training.epochs,
                            trainExamples: data.train.count, validationExamples: data.validation.count,
                            testExamples: data.test.count,
                            featurePassExamples: frozen ? data.poolCount : 0,
                            featurePasses: frozen ? (spec.mainnet.weights == nil ? spec.seeds.count : 1) : 0)
    }

    /// Stand-in data of the documented sizes (CIFAR-10: 50,000 + 10,000 images; SST: the split's sizes).
    static func standIn(_ spec: ExperimentSpec, seqLen: Int?) -> PreparedData {
        var rng = SeededGenerator(seed: 7)
        switch spec.data.dataset {
        case .cifar10:
            let trainFile = min(spec.data.limit.train ?? 50_000, 50_000)
            let testCount = min(spec.data.limit.test ?? 10_000, 10_000)
            let validation = spec.data.validation ?? 5000
            // pixels only for the batches the probe touches; every index maps onto them
            let stored = 512
            let pixels = (0..<(stored * CIFARImages.pixelsPerImage)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let pool = CIFARImages(pixels: pixels, labels: (0..<stored).map { UInt8($0 % 10) })
            let norm = (try? ImageNormalization(name: (spec.data.normalize ?? .imagenet).rawValue)) ?? .imagenet
            let pre = ImagePreprocessing(resizeTo: spec.data.inputSize, normalization: norm)
            let labels = (0..<stored).map { $0 % 10 }
            return PreparedData(source: .images(pool, pre), labels: labels,
                                train: Array(0..<max(trainFile - validation, 1)).map { $0 % stored },
                                validation: Array(0..<validation).map { $0 % stored },
                                test: Array(0..<testCount).map { $0 % stored }, numClasses: 10,
                                identity: "plan", splitDescription: "plan", meanTestLength: 0)
        case .sst2:
            let (tr, va, te): (Int, Int, Int)
            switch spec.data.split ?? .paper {
            case .paper: (tr, va, te) = (5000, 1613, 3000)
            case .standard: (tr, va, te) = (6920, 872, 1821)
            case .glue: (tr, va, te) = (66_477, 872, 872)
            }
            let length = max(3, seqLen ?? spec.data.maxLength ?? 128)
            let vocab = spec.mainnet.arch == .bertLarge || spec.mainnet.arch == .bertBase || spec.mainnet.arch == .distilbert
                ? 30_522 : 1000
            let stored = 256
            let ids: [[Int32]] = (0..<stored).map { _ in
                [101] + (0..<(length - 2)).map { _ in Int32(1000 + Int(rng.next() % UInt64(vocab - 1000))) } + [102]
            }
            let labels = (0..<stored).map { Int32($0 % 2) }
            let pool = SSTEncodedPool(ids: ids, labels: labels, padID: 0)
            let trainCount = min(spec.data.limit.train ?? tr, tr), testCount = min(spec.data.limit.test ?? te, te)
            return PreparedData(source: .text(pool), labels: labels.map { Int($0) },
                                train: (0..<trainCount).map { $0 % stored }, validation: (0..<va).map { $0 % stored },
                                test: (0..<testCount).map { $0 % stored }, numClasses: 2, identity: "plan",
                                splitDescription: "plan", meanTestLength: length)
        }
    }

    /// Examples per second of training steps, evaluation batches and (frozen regimes) feature passes.
    static func time(_ net: Net, spec: ExperimentSpec, data: PreparedData, steps: Int) throws -> PlanThroughput {
        let bs = spec.training.batchSize, ebs = spec.evaluation.batchSize
        let regime = spec.training.regime
        var rng = SeededGenerator(seed: 11)
        func batch(_ from: [Int], _ n: Int) -> [Int] {
            (0..<min(n, max(from.count, 2))).map { _ in from[Int(rng.next() % UInt64(from.count))] }
        }
        let o = spec.training.optimizer
        let featureRate: Double
        let trainRate: Double, evalRate: Double
        if !regime.declaration.cachesFeatures {
            let model = RegimeNet(net, declaration: regime.declaration, withSide: true)
            let adam = Adam(parameters: model.trainableParameters, lr: o.lr)
            trainRate = try rate(steps: steps) {
                let idx = batch(data.train, bs)
                adam.zeroGrad()
                _ = try trainingStep(model, indices: idx, data: data, alpha: spec.training.alpha)
                adam.step()
                return idx.count
            }
            evalRate = try rate(steps: steps) {
                let idx = batch(data.validation, ebs)
                _ = try net.forward(idx, data: data, mode: .eval, withSide: true)
                return idx.count
            }
            featureRate = evalRate
        } else {
            var feats: (attach: Tensor, head: Tensor)?
            featureRate = try rate(steps: steps) {
                let idx = batch(data.validation, ebs)
                feats = try net.features(idx, data: data)
                return idx.count
            }
            // the probed batch's features stand for the pool: rows 0..<rows (any labels will do)
            let f = feats!
            let rows = min(f.head.shape[0], data.poolCount)
            let attach = f.attach.rows(0..<rows), head = f.head.rows(0..<rows)
            let cached = FeatureCache.Features(attach: FeatureMatrix(rows: rows, cols: attach.count / rows, dtype: .float32),
                                               head: FeatureMatrix(rows: rows, cols: head.count / rows, dtype: .float32))
            cached.attach.setRows(Array(0..<rows)[...], from: attach)
            cached.head.setRows(Array(0..<rows)[...], from: head)
            let model = RegimeNet(net, declaration: regime.declaration, withSide: true)
            model.features = cached
            let adam = Adam(parameters: model.trainableParameters, lr: o.lr)
            func rowsBatch(_ n: Int) -> [Int] { (0..<n).map { $0 % rows } }
            trainRate = try rate(steps: steps) {
                let idx = rowsBatch(bs)
                adam.zeroGrad()
                _ = try trainingStep(model, indices: idx, data: data, alpha: spec.training.alpha)
                adam.step()
                return idx.count
            }
            evalRate = try rate(steps: steps) {
                let idx = rowsBatch(ebs)
                _ = try model.logits(idx, data: data, mode: .eval)
                return idx.count
            }
        }
        return PlanThroughput(trainPerSecond: trainRate, evalPerSecond: evalRate, featurePerSecond: featureRate)
    }

    /// Examples per second over at least `steps` timed calls after one untimed warm-up call;
    /// fast models keep going until 2 s have passed (at most 50 calls) so the timing is not noise.
    private static func rate(steps: Int, _ body: () throws -> Int) throws -> Double {
        _ = try body()
        var examples = 0, calls = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var seconds = 0.0
        while calls < steps || (seconds < 2 && calls < 50) {
            examples += try body()
            calls += 1
            seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return Double(examples) / max(seconds, 1e-9)
    }
}
