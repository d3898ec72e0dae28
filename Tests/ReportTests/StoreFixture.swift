import Foundation
import XCTest
import Report
import Specs
import Store

/// A real results database in a temporary folder, written through `ResultStore` the way the
/// runner writes it (register, claim, finish with predictions and a summary), for tests of
/// what the report reads back.
final class StoreFixture {
    let dir: URL
    let store: ResultStore

    init(_ tag: String) throws {
        dir = tempDir("store-\(tag)")
        store = try ResultStore(path: dir.appendingPathComponent("results.sqlite").path)
    }

    func cleanup() { try? FileManager.default.removeItem(at: dir) }

    /// A valid CIFAR-10 spec (demo-sized) with the given name, paper label and extra YAML lines
    /// appended under `paper:` and at top level.
    static func spec(name: String, label: String = "ResNet18", paperExtra: String = "",
                     evaluation: String = "{ece: {bins: 8, low: 0.2, high: 1.0}, batch_size: 256}",
                     epochs: Int = 1) throws -> ExperimentSpec {
        let yaml = """
            name: \(name)
            description: report test fixture
            seeds: [0, 1]
            variants: [sidenet, baseline]
            data:
              dataset: cifar10
              path: data/synthetic/cifar-10-batches-bin
              synthetic: true
              validation: 100
              input_size: 32
              normalize: imagenet
              limit: {train: 600, test: 200}
            mainnet:
              arch: resnet
              config: {blocks: [1, 1, 1, 1], width: 8, block: basic}
              weights: null
              head: {hidden: 32}
            sidenet: {attach: layer1, hidden: 32}
            training:
              regime: full
              optimizer: {name: adam, lr: 1.0e-3, weight_decay: 0}
              epochs: \(epochs)
              batch_size: 64
              plateau: {factor: 0.5, patience: 5}
              alpha: 1.0
            evaluation: \(evaluation)
            paper:
              figure: 2
              label: \(label)
            \(paperExtra)
            """
        return try ExperimentSpec.parse(yaml: yaml, file: "\(name).yaml")
    }

    @discardableResult
    func register(_ spec: ExperimentSpec) throws -> Int64 {
        try store.registerExperiment(name: spec.name, specJSON: spec.canonicalJSON(), specHash: spec.specHash)
    }

    /// Claims and finishes one run with these predictions; the summary's test accuracies are
    /// the fractions of correct MainNet / SideNet predictions (what the runner stores).
    @discardableResult
    func finish(_ experimentId: Int64, _ variant: RunVariant, seed: Int, classes: Int = 10,
                predictions: [Prediction], testAccMain: Double? = nil, testAccSide: Double? = nil) throws -> Int64 {
        guard case let .claimed(runId, _) = try store.claimRun(
            experimentId: experimentId, variant: variant, seed: seed, host: "test", threads: 1,
            gitCommit: nil, regime: "full") else { throw XCTSkip("run not claimed") }
        let rows = predictions.enumerated().map { i, p in
            PredictionRow(runId: runId, idx: i, label: p.label, sidePred: p.sidePred, sideConf: p.sideConf,
                          mainPred: p.mainPred, mainConf: p.mainConf, sideLogits: p.sideLogits,
                          mainLogits: p.mainLogits)
        }
        let n = Double(predictions.count)
        let main = testAccMain ?? Double(predictions.filter { $0.mainPred == $0.label }.count) / n
        let side = testAccSide ?? (variant == .sidenet
            ? Double(predictions.filter { $0.sidePred == $0.label }.count) / n : nil)
        try store.finishRun(runId: runId, predictions: rows, summary: RunSummary(
            numClasses: classes, paramsPrefix: 1_000, paramsSidenet: 100, paramsMainnet: 10_000,
            flopsPrefix: 2_000, flopsSidenet: 200, flopsMainnet: 20_000, bestEpoch: 0,
            testAccMain: main, testAccSide: side))
        return runId
    }

    /// Claims a run and leaves it 'running' (a run another process has not finished).
    @discardableResult
    func leaveRunning(_ experimentId: Int64, _ variant: RunVariant, seed: Int) throws -> Int64 {
        guard case let .claimed(runId, _) = try store.claimRun(
            experimentId: experimentId, variant: variant, seed: seed, host: "test", threads: 1,
            gitCommit: nil, regime: "full") else { throw XCTSkip("run not claimed") }
        return runId
    }
}
