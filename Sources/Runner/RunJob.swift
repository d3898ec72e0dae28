import Foundation
import Datasets
import Layers
import Models
import Optim
import Specs
import Store
import Tensors
import WeightIO

/// One (experiment, variant, seed): builds the model, trains it epoch by epoch with Adam and the
/// plateau schedule (each epoch: checkpoint file first, then one store transaction), keeps the
/// epoch with the best monitored validation loss, evaluates it on the test split.
final class RunJob {
    let spec: ExperimentSpec
    let variant: Variant
    let seed: Int
    let data: PreparedData
    let store: ResultStore
    let runId: Int64
    let resumeFrom: Int?
    let options: RunOptions
    let cache: FeatureCache
    let checkpointDir: URL
    var stats: RunnerStats

    private var lastHeartbeat = Date()
    private var net: Net!
    private var withSide: Bool { variant == .sidenet }
    private var regime: Regime { spec.training.regime }
    private var features: FeatureCache.Features?
    /// The validation split's rows of the selected epoch, set by `execute` (written with the test rows).
    private(set) var validationRows: [PredictionRow] = []

    init(spec: ExperimentSpec, variant: Variant, seed: Int, data: PreparedData, store: ResultStore, runId: Int64,
         resumeFrom: Int?, options: RunOptions, cache: FeatureCache, stats: RunnerStats) {
        self.spec = spec
        self.variant = variant
        self.seed = seed
        self.data = data
        self.store = store
        self.runId = runId
        self.resumeFrom = resumeFrom
        self.options = options
        self.cache = cache
        self.stats = stats
        checkpointDir = options.resultsDir.appendingPathComponent("checkpoints")
            .appendingPathComponent("\(spec.name)-\(spec.specHash.prefix(12))")
    }

    private var runTag: String { "\(variant.rawValue)-seed\(seed)" }

    /// What the checkpoint holds: the heads alone when the backbone is frozen, else everything.
    private var stateModule: Module {
        if regime == .full { return net.module }
        var parts: [(String, Module)] = [("head", net.head)]
        if withSide { parts.append(("sidenet", net.side)) }
        return CompositeModule(parts)
    }

    private func trainableParameters() -> [(String, Parameter)] {
        switch regime {
        case .full:
            return net.module.namedParameters().filter { withSide || !$0.0.hasPrefix("sidenet.") }
        case .heads:
            return scoped("head", net.head.namedParameters()) + (withSide ? scoped("sidenet", net.side.namedParameters()) : [])
        case .sidenet:
            return scoped("sidenet", net.side.namedParameters())
        }
    }

    func execute() throws -> (RunSummary, [PredictionRow]) {
        let (built, warnings, headLoaded) = try buildNet(spec, data: data, seed: seed, baseDir: options.baseDir)
        net = built
        if regime == .sidenet && !headLoaded {
            throw RunnerError.invalid("\(spec.name): regime sidenet keeps the MainNet as loaded, so mainnet.weights must be a "
                + "sidenet checkpoint holding the backbone and head.* (e.g. the best checkpoint of a full-regime run)")
        }
        for w in warnings { options.progress.note("  \(spec.name): \(w)") }
        if regime != .full {
            for (_, p) in net.backboneParameters { p.frozen = true }
            if regime == .sidenet { net.head.setFrozen(true) }
            features = try cachedFeatures()
        }
        let params = trainableParameters()
        let o = spec.training.optimizer
        let adam = Adam(parameters: params, lr: o.lr, betas: (o.betas[0], o.betas[1]), eps: o.eps, weightDecay: o.weightDecay)
        let p = spec.training.plateau
        let plateau = ReduceLROnPlateau(optimizer: adam, mode: .min, factor: p.factor, patience: p.patience,
                                        threshold: p.threshold, thresholdMode: p.thresholdMode == .rel ? .rel : .abs,
                                        cooldown: p.cooldown, minLR: p.minLR)
        var best = BestEpoch()
        var start = 1
        if let done = resumeFrom, done >= 1 {
            best = try restore(epoch: done, adam: adam, plateau: plateau)
            start = done + 1
            options.progress.note("  resuming \(spec.name) \(runTag) after epoch \(done)")
        }
        if start <= spec.training.epochs {
            for epoch in start...spec.training.epochs {
                try trainEpoch(epoch, adam: adam, plateau: plateau, best: &best)
            }
        }
        // Model selection: the epoch with the best monitored validation loss.
        if let path = best.path {
            try loadState(from: URL(fileURLWithPath: path))
        }
        validationRows = try predictionRows(data.validation)
        return try evaluateTest(bestEpoch: best.epoch)
    }

    // MARK: features

    private func cachedFeatures() throws -> FeatureCache.Features {
        var weights = "random-init-seed\(seed)"
        if let w = spec.mainnet.weights {
            weights = try FileDigest.digest(WeightsCatalog.require(w, arch: spec.mainnet.arch, baseDir: options.baseDir))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]  // a stable key: unsorted JSON varies between calls
        let config = (try? encoder.encode(spec.mainnet.resolvedConfig)).flatMap { String(data: $0, encoding: .utf8) } ?? "?"
        let dtype = spec.training.featureCacheDType
        var parts = ["v1", spec.mainnet.arch.rawValue, config, weights, spec.sidenet.attach, data.identity]
        if dtype != .float32 { parts.append(dtype.rawValue) }  // float32 keys are those of older caches
        let key = FileDigest.hash(parts.joined(separator: "|"))
        let net = self.net!, data = self.data
        return try cache.features(key: key, poolCount: data.poolCount, order: data.featureOrder,
                                  batchSize: spec.evaluation.batchSize, dtype: dtype,
                                  stats: &stats, progress: options.progress, stop: options.stop) { [self] idx in
            try heartbeatIfDue()  // a long feature pass must not look like an abandoned claim
            return try net.features(idx, data: data)
        }
    }

    // MARK: one batch

    /// Logits of both heads for `indices` (side nil for the baseline variant).
    private func logits(_ indices: [Int], mode: Mode) throws -> (main: Tensor, side: Tensor?) {
        if let f = features {
            // regime sidenet: the MainNet stays as loaded, BatchNorm statistics included
            let main = net.head.forward(f.head.gather(indices), mode: regime == .sidenet ? .eval : mode)
            let side = withSide ? net.side.forward(f.attach.gather(indices), mode: mode) : nil
            return (main, side)
        }
        return try net.forward(indices, data: data, mode: mode, withSide: withSide)
    }

    private func backward(main: Tensor, side: Tensor?) {
        if features != nil {
            // cached features are inputs: no gradient flows into them
            if regime != .sidenet { net.head.backwardParameters(main) }
            if let side { net.side.backwardParameters(side) }
        } else {
            net.backward(main: main, side: side)
        }
    }

    // MARK: epochs

    struct BestEpoch {
        var value = Double.infinity
        var epoch: Int?
        var path: String?
    }

    private func trainEpoch(_ epoch: Int, adam: Adam, plateau: ReduceLROnPlateau, best: inout BestEpoch) throws {
        let began = Date()
        let bs = spec.training.batchSize
        net.beginEpoch(epoch, seed: seed)  // dropout masks depend on (seed, epoch) only: resumes replay them
        var batches = Batching.batches(indices: data.train, batchSize: bs, shuffleSeed: UInt64(seed), epoch: epoch)
        if let last = batches.last, last.count < 2, batches.count > 1 { batches.removeLast() }  // BatchNorm needs 2
        options.progress.begin("\(spec.name) \(runTag) epoch \(epoch)/\(spec.training.epochs)",
                               total: batches.reduce(0) { $0 + $1.count }, unit: "ex")
        var sumMain = 0.0, sumSide = 0.0, seen = 0
        let alpha = spec.training.alpha
        for (b, idx) in batches.enumerated() {
            if options.stop.isRequested { throw RunnerError.interrupted }
            adam.zeroGrad()
            let (main, side) = try logits(idx, mode: .train)
            let labels = idx.map { data.labels[$0] }
            let lm = headLoss(main, labels: labels)
            guard lm.loss.isFinite else { throw RunnerError.nonFiniteLoss(epoch: epoch, batch: b + 1, head: "MainNet") }
            var dSide: Tensor?
            if let side {
                let ls = headLoss(side, labels: labels)
                guard ls.loss.isFinite else { throw RunnerError.nonFiniteLoss(epoch: epoch, batch: b + 1, head: "SideNet") }
                sumSide += ls.loss * Double(idx.count)
                dSide = scaled(ls.dLogits, by: alpha)
            }
            sumMain += lm.loss * Double(idx.count)
            backward(main: lm.dLogits, side: dSide)
            adam.step()
            seen += idx.count
            options.progress.advance(to: seen)
            try heartbeatIfDue()
        }
        let v = try validate()
        let lrUsed = adam.lr
        let monitored: Double
        switch spec.training.plateau.monitor {
        case .valLoss: monitored = v.lossMain + (withSide ? alpha * (v.lossSide ?? 0) : 0)
        case .valLossMain: monitored = v.lossMain
        case .valLossSide: monitored = v.lossSide ?? v.lossMain
        }
        let reduced = plateau.step(metric: monitored)
        try FileManager.default.createDirectory(at: checkpointDir, withIntermediateDirectories: true)
        var bestPath: String?
        let previousBest = best.path
        if monitored < best.value || best.epoch == nil {
            best.value = monitored.isFinite ? monitored : best.value
            best.epoch = epoch
            let url = checkpointDir.appendingPathComponent("\(runTag)-best-epoch\(epoch).safetensors")
            try saveState(to: url, epoch: epoch, adam: adam, plateau: plateau, best: best, includeOptimizer: false)
            best.path = url.path
            bestPath = url.path
        }
        let lastURL = checkpointDir.appendingPathComponent("\(runTag)-epoch\(epoch).safetensors")
        try saveState(to: lastURL, epoch: epoch, adam: adam, plateau: plateau, best: best, includeOptimizer: true)
        let row = EpochRow(runId: runId, epoch: epoch, trainLossMain: sumMain / Double(max(seen, 1)),
                           trainLossSide: withSide ? sumSide / Double(max(seen, 1)) : nil,
                           valLossMain: v.lossMain, valLossSide: v.lossSide, valAccMain: v.accMain,
                           valAccSide: v.accSide, lr: lrUsed, seconds: Date().timeIntervalSince(began))
        try store.commitEpoch(runId: runId, epoch: row, checkpointPath: lastURL.path, bestCheckpointPath: bestPath)
        // Older files are no longer referenced by the database.
        let old = checkpointDir.appendingPathComponent("\(runTag)-epoch\(epoch - 1).safetensors")
        try? FileManager.default.removeItem(at: old)
        if let prev = previousBest, bestPath != nil { try? FileManager.default.removeItem(atPath: prev) }
        var summary = String(format: "train loss %.4f, val loss %.4f, val acc %.2f%%", row.trainLossMain ?? .nan,
                             v.lossMain, 100 * v.accMain)
        if let s = v.accSide { summary += String(format: ", SideNet val acc %.2f%%", 100 * s) }
        if reduced { summary += String(format: ", lr -> %.3g", adam.lr) }
        options.progress.end(summary)
        try options.afterEpoch?(spec.name, variant, seed, epoch)
    }

    private func heartbeatIfDue() throws {
        if Date().timeIntervalSince(lastHeartbeat) > 60 {
            try store.heartbeat(runId: runId)
            lastHeartbeat = Date()
        }
    }

    struct Validation {
        var lossMain: Double, lossSide: Double?, accMain: Double, accSide: Double?
    }

    private func validate() throws -> Validation {
        var lm = 0.0, ls = 0.0, cm = 0, cs = 0
        let idxs = data.validation
        try forEachEvalBatch(idxs) { _, idx, main, side in
            let labels = idx.map { data.labels[$0] }
            lm += headLoss(main, labels: labels).loss * Double(idx.count)
            cm += zip(predictions(main), labels).filter { $0.0.pred == $0.1 }.count
            if let side {
                ls += headLoss(side, labels: labels).loss * Double(idx.count)
                cs += zip(predictions(side), labels).filter { $0.0.pred == $0.1 }.count
            }
        }
        let n = Double(max(idxs.count, 1))
        return Validation(lossMain: lm / n, lossSide: withSide ? ls / n : nil, accMain: Double(cm) / n,
                          accSide: withSide ? Double(cs) / n : nil)
    }

    /// Eval-mode logits of `idxs` handed to `body` batch by batch (`evaluation.batch_size`
    /// examples; `start` = position of the batch in `idxs`). On cached features the heads run
    /// over chunks of many batches at once (large GEMMs); each row's logits do not depend on the
    /// rows beside it, and `body` still sees the same batches, so losses and sums are unchanged.
    private func forEachEvalBatch(_ idxs: [Int], _ body: (Int, [Int], Tensor, Tensor?) throws -> Void) throws {
        let bs = spec.evaluation.batchSize
        var chunk = bs
        if let f = features {
            // ~128 MB of gathered Float32 rows per chunk, a whole number of batches
            let rowBytes = 4 * (f.head.cols + (withSide ? f.attach.cols : 0))
            chunk = max(1, FeatureEvaluation.chunkBytes / max(1, rowBytes) / bs) * bs
        }
        for cStart in stride(from: 0, to: idxs.count, by: chunk) {
            let cIdx = Array(idxs[cStart..<min(idxs.count, cStart + chunk)])
            let (main, side) = try logits(cIdx, mode: .eval)
            for bStart in stride(from: 0, to: cIdx.count, by: bs) {
                let r = bStart..<min(cIdx.count, bStart + bs)
                let whole = r.count == cIdx.count
                try body(cStart + bStart, Array(cIdx[r]), whole ? main : main.rows(r), whole ? side : side?.rows(r))
            }
            try heartbeatIfDue()
        }
    }

    // MARK: test

    private func evaluateTest(bestEpoch: Int?) throws -> (RunSummary, [PredictionRow]) {
        var rows: [PredictionRow] = []
        var correctMain = 0, correctSide = 0
        let idxs = data.test
        options.progress.begin("\(spec.name) \(runTag) test", total: idxs.count, unit: "ex")
        try forEachEvalBatch(idxs) { start, idx, main, side in
            let pm = predictions(main), ps = side.map(predictions)
            let k = main.shape[1]
            for (r, poolIndex) in idx.enumerated() {
                let label = data.labels[poolIndex]
                if pm[r].pred == label { correctMain += 1 }
                if let ps, ps[r].pred == label { correctSide += 1 }
                rows.append(PredictionRow(runId: runId, idx: start + r, label: label,
                                          sidePred: ps?[r].pred, sideConf: ps?[r].conf,
                                          mainPred: pm[r].pred, mainConf: pm[r].conf,
                                          sideLogits: side.map { Array($0.data[(r * k)..<(r * k + k)]) },
                                          mainLogits: Array(main.data[(r * k)..<(r * k + k)])))
            }
            options.progress.advance(to: start + idx.count)
        }
        let n = Double(max(idxs.count, 1))
        let accMain = Double(correctMain) / n
        let accSide: Double? = withSide ? Double(correctSide) / n : nil
        options.progress.end(String(format: "test acc MainNet %.2f%%", 100 * accMain)
                             + (accSide.map { String(format: ", SideNet %.2f%%", 100 * $0) } ?? ""))
        let b = net.breakdown
        let summary = RunSummary(numClasses: data.numClasses, paramsPrefix: b.prefix.parameters,
                                 paramsSidenet: b.sideNet.parameters, paramsMainnet: b.mainNet.parameters,
                                 flopsPrefix: b.prefix.flops, flopsSidenet: b.sideNet.flops, flopsMainnet: b.mainNet.flops,
                                 bestEpoch: bestEpoch, testAccMain: accMain, testAccSide: accSide,
                                 dataSplit: data.splitDescription)
        return (summary, rows)
    }

    /// Per-example rows of both heads on `idxs` (row idx = position in `idxs`), eval mode.
    private func predictionRows(_ idxs: [Int]) throws -> [PredictionRow] {
        var rows: [PredictionRow] = []
        try forEachEvalBatch(idxs) { start, idx, main, side in
            let pm = predictions(main), ps = side.map(predictions)
            let k = main.shape[1]
            for (r, poolIndex) in idx.enumerated() {
                rows.append(PredictionRow(runId: runId, idx: start + r, label: data.labels[poolIndex],
                                          sidePred: ps?[r].pred, sideConf: ps?[r].conf,
                                          mainPred: pm[r].pred, mainConf: pm[r].conf,
                                          sideLogits: side.map { Array($0.data[(r * k)..<(r * k + k)]) },
                                          mainLogits: Array(main.data[(r * k)..<(r * k + k)])))
            }
        }
        return rows
    }

    // MARK: checkpoints

    private func saveState(to url: URL, epoch: Int, adam: Adam, plateau: ReduceLROnPlateau, best: BestEpoch,
                           includeOptimizer: Bool) throws {
        var tensors = storedStateDict(stateModule)
        if includeOptimizer {
            for (k, t) in adam.stateTensors() { tensors["optim." + k] = StoredTensor(t) }
        }
        let plateauJSON = String(data: try JSONEncoder().encode(plateau.exportState()), encoding: .utf8) ?? "{}"
        var meta = ["epoch": "\(epoch)", "plateau": plateauJSON, "contents": regime == .full ? "full" : "heads",
                    "experiment": spec.name, "spec_hash": spec.specHash, "variant": variant.rawValue,
                    "seed": "\(seed)", "regime": regime.rawValue]
        if best.value.isFinite { meta["best_value"] = "\(best.value)" }
        if let e = best.epoch { meta["best_epoch"] = "\(e)" }
        if let p = best.path { meta["best_path"] = p }
        try SafeTensors.write(tensors, metadata: meta, to: url)
    }

    private func loadState(from url: URL) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch {
            throw RunnerError.checkpoint(path: url.path, reason: "\(error)")
        }
        try loadStateDict(into: stateModule, stored: file.tensors, source: url.lastPathComponent,
                          options: StateDictLoadOptions(ignoredPrefixes: ["optim."]))
    }

    private func restore(epoch: Int, adam: Adam, plateau: ReduceLROnPlateau) throws -> BestEpoch {
        guard let row = try store.lastCheckpoint(runId: runId) else {
            throw RunnerError.checkpoint(path: "(none)", reason: "run \(runId) has \(epoch) committed epochs but no checkpoint row")
        }
        let url = URL(fileURLWithPath: row.path)
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch {
            throw RunnerError.checkpoint(path: url.path, reason: "\(error)")
        }
        guard file.metadata["epoch"] == "\(epoch)" else {
            throw RunnerError.checkpoint(path: url.path, reason: "holds epoch \(file.metadata["epoch"] ?? "?"), the database says \(epoch)")
        }
        try loadStateDict(into: stateModule, stored: file.tensors, source: url.lastPathComponent,
                          options: StateDictLoadOptions(ignoredPrefixes: ["optim."]))
        var optim: [String: Tensor] = [:]
        for (k, t) in file.tensors where k.hasPrefix("optim.") { optim[String(k.dropFirst(6))] = try t.tensor() }
        try adam.loadStateTensors(optim)
        if let j = file.metadata["plateau"] {
            plateau.importState(try JSONDecoder().decode(PlateauState.self, from: Data(j.utf8)))
        }
        var best = BestEpoch()
        best.value = file.metadata["best_value"].flatMap(Double.init) ?? .infinity
        best.epoch = file.metadata["best_epoch"].flatMap(Int.init)
        best.path = file.metadata["best_path"]
        return best
    }
}
