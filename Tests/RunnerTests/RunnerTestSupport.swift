import Foundation
import XCTest
import Datasets
import Runner
import Specs
import Store

// Shared fixtures of the Runner tests: tiny synthetic data sets generated once per process,
// spec builders for a tiny ResNet and a tiny BERT, a per-test scratch directory, and a
// progress sink that records what the runner reported.

/// Synthetic data written once per test process (120 train / 40 test CIFAR-format images,
/// 200 SST-format sentences) under one temporary directory, which serves as `RunOptions.baseDir`.
enum SharedData {
    static let cifarTrain = 120
    static let cifarTest = 40
    static let sstCount = 200
    /// Relative paths (resolved against `root`).
    static let cifarPath = "cifar"
    static let sstPath = "sst"

    static let root: URL = {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sidenet-runner-tests-data-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(6))")
        do {
            try SyntheticCIFAR.write(to: dir.appendingPathComponent(cifarPath), trainCount: cifarTrain,
                                     testCount: cifarTest, seed: 7, hardFraction: 0.4)
            try SyntheticSST.write(to: dir.appendingPathComponent(sstPath), count: sstCount, seed: 7, hardFraction: 0.3)
        } catch {
            fatalError("RunnerTests: cannot generate synthetic data in \(dir.path): \(error)")
        }
        return dir
    }()

    /// Test examples of the SST `paper` split for `sstCount` sentences (the scheme's scaled
    /// 5,000 / 1,613 / 3,000 sizes: the test split takes the rest).
    static var sstTestCount: Int {
        let n = Double(sstCount)
        return sstCount - Int((n * 5000 / 9613).rounded()) - Int((n * 1613 / 9613).rounded())
    }
}

/// A fresh scratch directory per test (results, database), removed by `cleanup()`.
final class Scratch {
    let dir: URL
    init(_ label: String) {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sidenet-runner-\(label)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    var resultsDir: URL { dir.appendingPathComponent("results") }
    var databasePath: String { dir.appendingPathComponent("results/sidenet.sqlite").path }
    func cleanup() { try? FileManager.default.removeItem(at: dir) }
}

/// Records everything the runner reports (thread-safe: the concurrency test shares nothing,
/// but a sink may be called from a runner's own thread).
final class RecordingProgress: ProgressSink, @unchecked Sendable {
    private let lock = NSLock()
    private var _begins: [String] = []
    private var _notes: [String] = []
    var begins: [String] { lock.lock(); defer { lock.unlock() }; return _begins }
    var notes: [String] { lock.lock(); defer { lock.unlock() }; return _notes }
    func begin(_ label: String, total: Int, unit: String) { lock.lock(); _begins.append(label); lock.unlock() }
    func advance(to done: Int) {}
    func end(_ summary: String) {}
    func note(_ message: String) { lock.lock(); _notes.append(message); lock.unlock() }
}

/// Error thrown from `afterEpoch` to simulate a crash after a committed epoch.
struct SimulatedCrash: Error, CustomStringConvertible {
    let epoch: Int
    var description: String { "simulated crash after epoch \(epoch)" }
}

enum TinySpecs {
    /// A tiny ResNet (blocks [1,1,1,1], width 4, basic) on the synthetic CIFAR data:
    /// 100 train / 20 validation / 40 test images, batch 16, eval batch 64.
    static func resnet(name: String, seeds: [Int] = [0], variants: [String] = ["sidenet", "baseline"],
                       regime: String = "full", epochs: Int = 2, weights: String? = nil,
                       dataPath: String = SharedData.cifarPath, lr: String = "1.0e-3",
                       plateau: String = "{factor: 0.5, patience: 5}", alpha: String = "1.0",
                       evalBatch: Int = 64, headHidden: Int = 8, sideHidden: Int = 8) throws -> ExperimentSpec {
        let yaml = """
        name: \(name)
        seeds: [\(seeds.map(String.init).joined(separator: ", "))]
        variants: [\(variants.joined(separator: ", "))]
        data:
          dataset: cifar10
          path: \(dataPath)
          synthetic: true
          validation: 20
          input_size: 32
          normalize: imagenet
        mainnet:
          arch: resnet
          config: {blocks: [1, 1, 1, 1], width: 4, block: basic}
          weights: \(weights ?? "null")
          head: {hidden: \(headHidden)}
        sidenet: {attach: layer1, hidden: \(sideHidden)}
        training:
          regime: \(regime)
          optimizer: {name: adam, lr: \(lr), weight_decay: 0}
          epochs: \(epochs)
          batch_size: 16
          plateau: \(plateau)
          alpha: \(alpha)
        evaluation: {batch_size: \(evalBatch)}
        """
        return try ExperimentSpec.parse(yaml: yaml, file: "\(name).yaml")
    }

    /// A tiny BERT (hidden 16, 2 layers, 2 heads, intermediate 32) on the synthetic SST data
    /// (paper split of 200 sentences), vocabulary = the generated vocab.txt.
    static func bert(name: String, seeds: [Int] = [0], variants: [String] = ["sidenet", "baseline"],
                     regime: String = "full", epochs: Int = 2, dataPath: String = SharedData.sstPath,
                     vocab: String = "\(SharedData.sstPath)/vocab.txt") throws -> ExperimentSpec {
        let yaml = """
        name: \(name)
        seeds: [\(seeds.map(String.init).joined(separator: ", "))]
        variants: [\(variants.joined(separator: ", "))]
        data:
          dataset: sst2
          path: \(dataPath)
          synthetic: true
          split: paper
          max_length: 32
          format: auto
        mainnet:
          arch: bert
          config: {hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64}
          vocab: \(vocab)
          weights: null
          head: {hidden: 8}
        sidenet: {attach: encoder.layer.0, hidden: 8}
        training:
          regime: \(regime)
          optimizer: {name: adam, lr: 1.0e-3, weight_decay: 0}
          epochs: \(epochs)
          batch_size: 16
          plateau: {factor: 0.5, patience: 5}
          alpha: 1.0
        evaluation: {batch_size: 64}
        """
        return try ExperimentSpec.parse(yaml: yaml, file: "\(name).yaml")
    }
}

/// Options with the shared data as base directory and the scratch results directory.
func testOptions(_ scratch: Scratch, progress: ProgressSink = SilentProgress(), threads: Int = 2) -> RunOptions {
    var o = RunOptions()
    o.baseDir = SharedData.root
    o.resultsDir = scratch.resultsDir
    o.threads = threads
    o.progress = progress
    o.host = "test-host"
    return o
}

/// The experiment row of `spec` (by name and hash) and its runs.
func storedRuns(_ store: ResultStore, _ spec: ExperimentSpec, file: StaticString = #filePath,
                line: UInt = #line) throws -> [RunRow] {
    let exps = try store.experiments(named: spec.name).filter { $0.specHash == spec.specHash }
    XCTAssertEqual(exps.count, 1, "experiment \(spec.name) registered once", file: file, line: line)
    guard let id = exps.first?.id else { return [] }
    return try store.runs(experiment: id)
}

func findRun(_ runs: [RunRow], _ variant: RunVariant, _ seed: Int) -> RunRow? {
    runs.first { $0.variant == variant && $0.seed == seed }
}

/// Monitored validation value of an epoch row (`val_loss`: L_M + alpha * L_S).
func monitored(_ e: EpochRow, alpha: Double) -> Double {
    (e.valLossMain ?? .nan) + alpha * (e.valLossSide ?? 0)
}
