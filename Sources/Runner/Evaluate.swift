import Foundation
import Layers
import Models
import Specs
import Store
import WeightIO
import Tensors

/// One evaluated example (the CSV row of `sidenet eval`).
public struct EvaluatedExample {
    public var index: Int
    public var label: Int
    public var sidePred: Int?
    public var sideConf: Double?
    public var mainPred: Int
    public var mainConf: Double
    public var sideLogits: [Float]?
    public var mainLogits: [Float]
}

/// One evaluation batch's rows (`start` = position of the batch in the evaluated index list;
/// `labels` by pool index): both heads' predicted class and confidence (`predictions`) and
/// logits, row r from row r of `main` / `side` [B, K].
func evaluatedExamples(start: Int, indices idx: [Int], labels: [Int], main: Tensor, side: Tensor?) -> [EvaluatedExample] {
    let pm = predictions(main), ps = side.map(predictions)
    let k = main.shape[1]
    return idx.enumerated().map { r, poolIndex in
        EvaluatedExample(index: start + r, label: labels[poolIndex], sidePred: ps?[r].pred, sideConf: ps?[r].conf,
                         mainPred: pm[r].pred, mainConf: pm[r].conf,
                         sideLogits: side.map { Array($0.data[(r * k)..<(r * k + k)]) },
                         mainLogits: Array(main.data[(r * k)..<(r * k + k)]))
    }
}

extension PredictionRow {
    /// The stored row of an evaluated example of run `runId`.
    init(runId: Int64, _ e: EvaluatedExample) {
        self.init(runId: runId, idx: e.index, label: e.label, sidePred: e.sidePred, sideConf: e.sideConf,
                  mainPred: e.mainPred, mainConf: e.mainConf, sideLogits: e.sideLogits, mainLogits: e.mainLogits)
    }
}

extension Runner {
    /// Evaluates a checkpoint written by `sidenet run` on a split of the spec's data. Its metadata
    /// (`RunCheckpointMetadata`) says the run's seed, variant and regime; the regime's
    /// declaration says what the tensors cover (a frozen-backbone regime stores only `head.*` and
    /// `sidenet.*`: the backbone then comes from the spec's `mainnet.weights`). A checkpoint
    /// without that metadata is refused, naming the missing field.
    public static func evaluate(spec: ExperimentSpec, checkpoint: URL, split: String, baseDir: URL,
                                progress: ProgressSink = SilentProgress()) throws -> [EvaluatedExample] {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: checkpoint) } catch {
            throw RunnerError.checkpoint(path: checkpoint.path, reason: "\(error)")
        }
        let (declaration, meta) = try checkpointRegime(file, path: checkpoint.path)
        let data = try PreparedData.load(spec, baseDir: baseDir)
        let indices = try splitIndices(split, data)
        let (net, _, _) = try buildNet(spec, data: data, seed: meta.seed, baseDir: baseDir)
        let model = RegimeNet(net, declaration: declaration, withSide: meta.variant == Variant.sidenet.rawValue)
        // a full checkpoint of a baseline run also holds the untrained SideNet it never used
        try loadStateDict(into: model.checkpointModule, stored: file.tensors, source: checkpoint.lastPathComponent,
                          options: StateDictLoadOptions(ignoredPrefixes: model.withSide ? ["optim."] : ["optim.", "sidenet."]))
        var out: [EvaluatedExample] = []
        progress.begin("eval \(split)", total: indices.count, unit: "ex")
        for start in stride(from: 0, to: indices.count, by: spec.evaluation.batchSize) {
            let idx = Array(indices[start..<min(indices.count, start + spec.evaluation.batchSize)])
            let (main, side) = try model.logits(idx, data: data, mode: .eval)
            out += evaluatedExamples(start: start, indices: idx, labels: data.labels, main: main, side: side)
            progress.advance(to: start + idx.count)
        }
        progress.end("\(out.count) examples")
        return out
    }

    /// The run metadata of a checkpoint and the declaration of the regime it names; the
    /// declared contents must be those the file says it holds.
    static func checkpointRegime(_ file: SafeTensorsFile, path: String) throws -> (RegimeDeclaration, RunCheckpointMetadata) {
        let meta = try RunCheckpointMetadata(entries: file.metadata, file: path)
        guard let regime = Regime(rawValue: meta.regime) else {
            throw RunnerError.checkpoint(path: path, reason: "metadata regime '\(meta.regime)' is none of "
                + Regime.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard Variant(rawValue: meta.variant) != nil else {
            throw RunnerError.checkpoint(path: path, reason: "metadata variant '\(meta.variant)' is neither sidenet nor baseline")
        }
        let d = regime.declaration
        guard meta.contents == d.checkpoint.rawValue else {
            throw RunnerError.checkpoint(path: path, reason: "metadata contents '\(meta.contents)' differ from what regime "
                + "\(regime.rawValue) stores ('\(d.checkpoint.rawValue)')")
        }
        return (d, meta)
    }

    private static func splitIndices(_ split: String, _ data: PreparedData) throws -> [Int] {
        switch split {
        case "test": return data.test
        case "validation", "val": return data.validation
        case "train": return data.train
        default: throw RunnerError.invalid("--split must be test, validation or train, not \(split)")
        }
    }

    /// Files a spec needs that are not on disk, each with where to get it and where it goes.
    public static func missingFiles(_ spec: ExperimentSpec, baseDir: URL) -> [String] {
        var missing: [String] = []
        let fm = FileManager.default
        let dir = resolve(spec.data.path, baseDir)
        switch spec.data.dataset {
        case .cifar10:
            let names = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                         "data_batch_5.bin", "test_batch.bin", "batches.meta.txt"]
            for n in names where !fm.fileExists(atPath: dir.appendingPathComponent(n).path) {
                missing.append("\(dir.appendingPathComponent(n).path): CIFAR-10 binary version, "
                               + "https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-binary.tar.gz); unpack so this folder holds the .bin files")
            }
        case .sst2:
            let ok = fm.fileExists(atPath: dir.appendingPathComponent("stsa.binary.train").path)
                || fm.fileExists(atPath: dir.appendingPathComponent("sentiment-train").path)
                || fm.fileExists(atPath: dir.appendingPathComponent("train.jsonl").path)
                || fm.fileExists(atPath: dir.appendingPathComponent("train.tsv").path)
            if !ok {
                missing.append("\(dir.path)/: sentence-level SST-2 (stsa.binary.{train,dev,test}, SentEval sentiment-*, "
                               + "or SetFit/sst2 {train,dev,test}.jsonl; the paper split needs all 9,613 labeled sentences)")
            }
        }
        if let w = spec.mainnet.weights, !fm.fileExists(atPath: resolve(w, baseDir).path) {
            missing.append("\(resolve(w, baseDir).path): \(WeightsCatalog.hint(for: w, arch: spec.mainnet.arch))")
        }
        if let v = spec.mainnet.vocab, !fm.fileExists(atPath: resolve(v, baseDir).path) {
            missing.append("\(resolve(v, baseDir).path): vocab.txt of the model; \(WeightsCatalog.hint(for: v, arch: spec.mainnet.arch))")
        }
        if case .path(let p)? = spec.mainnet.config, !fm.fileExists(atPath: resolve(p, baseDir).path) {
            missing.append("\(resolve(p, baseDir).path): config.json of the model; \(WeightsCatalog.hint(for: p, arch: spec.mainnet.arch))")
        }
        return missing
    }
}
