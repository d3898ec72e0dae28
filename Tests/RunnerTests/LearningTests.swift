import Foundation
import XCTest
import Datasets
import Runner
import Specs
import Store

/// Training learns: on generated tasks a tiny ResNet and a tiny BERT, trained whole (`full`) and
/// then frozen with fresh heads (`heads`, backbone = the full run's best checkpoint), beat chance
/// by a clear margin and lower their training loss. The same check on a run whose learning rate
/// is effectively 0 (1e-10; specs require lr > 0) reports failure, so the check can fail.
final class LearningTests: XCTestCase {
    /// Generated data for these tests only (easy examples, more of them than SharedData).
    enum LearnData {
        static let root: URL = {
            let dir = FileManager.default.temporaryDirectory
                .appendingPathComponent("sidenet-learning-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(6))")
            do {
                try SyntheticCIFAR.write(to: dir.appendingPathComponent("cifar"), trainCount: 400, testCount: 100, seed: 21,
                                         hardFraction: 0)
                try SyntheticSST.write(to: dir.appendingPathComponent("sst"), count: 500, seed: 21, hardFraction: 0)
            } catch {
                fatalError("LearningTests: cannot generate data in \(dir.path): \(error)")
            }
            return dir
        }()
    }

    /// What a learning check found wrong with a run (empty: it learned).
    struct Verdict {
        var failures: [String] = []
        var learned: Bool { failures.isEmpty }
    }

    /// The learning check over the runs of one spec (one per seed): the checked heads' test
    /// accuracy, averaged over the runs, ≥ chance + margin, and their last-epoch mean training loss,
    /// as a ratio of the first epoch's and averaged over the runs, ≤ `lossRatio`. Averaging over
    /// seeds keeps one unlucky trajectory (regime `full` on tiny data is sensitive to rounding:
    /// Tests/Fixtures/runner/README.md) from deciding the verdict; a run that did not finish fails.
    static func learningCheck(_ store: ResultStore, _ runs: [RunRow], chance: Double, margin: Double,
                              heads: [String], lossRatio: Double = 0.85) throws -> Verdict {
        var v = Verdict()
        guard !runs.isEmpty else { return Verdict(failures: ["no runs"]) }
        var accs: [String: [Double]] = [:], ratios: [String: [Double]] = [:]
        for run in runs {
            let epochs = try store.epochs(runId: run.id!)
            guard run.status == .finished, let first = epochs.first, let last = epochs.last, epochs.count >= 2 else {
                v.failures.append("run \(run.id!) \(run.status.rawValue) with \(epochs.count) epochs")
                continue
            }
            for h in heads {
                let acc = h == "main" ? run.testAccMain : run.testAccSide
                let (l0, l1) = h == "main" ? (first.trainLossMain, last.trainLossMain) : (first.trainLossSide, last.trainLossSide)
                accs[h, default: []].append(acc ?? .nan)
                ratios[h, default: []].append((l1 ?? .nan) / (l0 ?? .nan))
            }
        }
        for h in heads {
            let a = accs[h] ?? [], r = ratios[h] ?? []
            let meanAcc = a.reduce(0, +) / Double(max(a.count, 1)), meanRatio = r.reduce(0, +) / Double(max(r.count, 1))
            if !(meanAcc >= chance + margin) {
                v.failures.append("\(h) mean test accuracy \(meanAcc) \(a) < chance \(chance) + \(margin)")
            }
            if !(meanRatio <= lossRatio) {
                v.failures.append("\(h) training loss last/first epoch, mean \(meanRatio) \(r), not ≤ \(lossRatio)")
            }
        }
        return v
    }

    var scratch: Scratch!
    override func setUp() { scratch = Scratch("learn") }
    override func tearDown() { scratch.cleanup() }

    private func options() -> RunOptions {
        var o = testOptions(scratch)
        o.baseDir = LearnData.root
        return o
    }

    private func resnetSpec(_ name: String, regime: String, lr: String, epochs: Int, seeds: [Int],
                            weights: String? = nil) throws -> ExperimentSpec {
        try ExperimentSpec.parse(yaml: """
        name: \(name)
        seeds: \(seeds)
        variants: [sidenet]
        data: {dataset: cifar10, path: cifar, synthetic: true, validation: 50, input_size: 16, normalize: imagenet}
        mainnet:
          arch: resnet
          config: {blocks: [1, 1, 1, 1], width: 8, block: basic}
          weights: \(weights ?? "null")
          head: {hidden: 16}
        sidenet: {attach: layer1, hidden: 16}
        training:
          regime: \(regime)
          optimizer: {name: adam, lr: \(lr)}
          epochs: \(epochs)
          batch_size: 25
        evaluation: {batch_size: 100}
        """, file: "\(name).yaml")
    }

    private func bertSpec(_ name: String, regime: String, lr: String, epochs: Int, seeds: [Int],
                          weights: String? = nil) throws -> ExperimentSpec {
        try ExperimentSpec.parse(yaml: """
        name: \(name)
        seeds: \(seeds)
        variants: [sidenet]
        data: {dataset: sst2, path: sst, synthetic: true, split: paper, max_length: 24}
        mainnet:
          arch: bert
          config: {hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32,
                   hidden_dropout_prob: 0.0, attention_probs_dropout_prob: 0.0}
          vocab: sst/vocab.txt
          weights: \(weights ?? "null")
          head: {hidden: 16}
        sidenet: {attach: encoder.layer.0, hidden: 16}
        training:
          regime: \(regime)
          optimizer: {name: adam, lr: \(lr)}
          epochs: \(epochs)
          batch_size: 16
        evaluation: {batch_size: 128}
        """, file: "\(name).yaml")
    }

    /// Runs one spec and returns its run rows (one per seed, by seed).
    private func run(_ spec: ExperimentSpec, _ store: ResultStore) throws -> [RunRow] {
        let outcomes = try Runner(store: store, options: options()).run([spec])
        XCTAssertEqual(outcomes.map(\.status), outcomes.map { _ in .finished }, outcomes.compactMap(\.reason).joined())
        let rows = try storedRuns(store, spec).sorted { $0.seed < $1.seed }
        XCTAssertEqual(rows.count, spec.seeds.count, "\(spec.name): one run per seed")
        for row in rows { print("\(spec.name) seed \(row.seed): \(show(store, row))") }
        return rows
    }

    private func bestCheckpoint(_ store: ResultStore, _ run: RunRow) throws -> String {
        try XCTUnwrap(store.checkpoint(runId: run.id!, kind: .best)?.path)
    }

    private func show(_ store: ResultStore, _ run: RunRow) -> String {
        let e = (try? store.epochs(runId: run.id!)) ?? []
        return "test main \(run.testAccMain ?? .nan) side \(run.testAccSide ?? .nan); train L_M "
            + "\(e.map { $0.trainLossMain ?? .nan }) L_S \(e.map { $0.trainLossSide ?? .nan })"
    }

    func testResNetLearnsFullThenHeadsAndLrZeroFails() throws {
        try checkLearnsFullThenHeadsAndLrZeroFails(family: "resnet", chance: 0.1, margin: 0.3, loadedHeadFloor: 0.4,
                                                  fullLr: "3.0e-3", fullEpochs: 6, seeds: [0]) {
            try self.resnetSpec($0, regime: $1, lr: $2, epochs: $3, seeds: $4, weights: $5)
        }
    }

    /// Regime `full` on this tiny BERT at lr 3e-3 was chaotic (validation loss 0.65, 0.93, 0.36,
    /// 1.62, 0.61, 0.066 over six epochs; one reversed sum in LayerNorm turned a pass into SideNet
    /// accuracy 0.54): lr 1e-3 over 8 epochs and the mean over three seeds. At these settings
    /// seeds 0–5 each reached main ≥ 0.96 and SideNet ≥ 0.83 test accuracy (mean side 0.95).
    func testBertLearnsFullThenHeadsAndLrZeroFails() throws {
        try checkLearnsFullThenHeadsAndLrZeroFails(family: "bert", chance: 0.5, margin: 0.25, loadedHeadFloor: 0.75,
                                                  fullLr: "1.0e-3", fullEpochs: 8, seeds: [0, 1, 2]) {
            try self.bertSpec($0, regime: $1, lr: $2, epochs: $3, seeds: $4, weights: $5)
        }
    }

    /// A full run learns, a heads run on its best checkpoint learns, and the same two runs at
    /// lr ~0 fail the same check (whole model, and a fresh SideNet on the frozen backbone).
    /// Each check is over all `seeds`; the heads runs load seed `seeds[0]`'s best full checkpoint.
    private func checkLearnsFullThenHeadsAndLrZeroFails(
        family: String, chance: Double, margin: Double, loadedHeadFloor: Double, fullLr: String, fullEpochs: Int,
        seeds: [Int], spec: (String, String, String, Int, [Int], String?) throws -> ExperimentSpec
    ) throws {
        let store = try ResultStore(path: scratch.databasePath)
        let full = try run(try spec("learn-\(family)-full", "full", fullLr, fullEpochs, seeds, nil), store)
        let vFull = try Self.learningCheck(store, full, chance: chance, margin: margin, heads: ["main", "side"])
        XCTAssertTrue(vFull.learned, "full: \(vFull.failures)")

        let backbone = try bestCheckpoint(store, try XCTUnwrap(full.first))
        let heads = try run(try spec("learn-\(family)-heads", "heads", "3.0e-3", 4, seeds, backbone), store)
        let vHeads = try Self.learningCheck(store, heads, chance: chance, margin: margin, heads: ["side"])
        XCTAssertTrue(vHeads.learned, "heads: \(vHeads.failures)")
        let loadedHead = heads.map { $0.testAccMain ?? 0 }.reduce(0, +) / Double(max(heads.count, 1))
        XCTAssertGreaterThanOrEqual(loadedHead, loadedHeadFloor, "heads: the loaded MainNet head stays accurate")

        let frozen = try run(try spec("learn-\(family)-full-lr0", "full", "1.0e-10", fullEpochs, seeds, nil), store)
        let v0 = try Self.learningCheck(store, frozen, chance: chance, margin: margin, heads: ["main", "side"])
        XCTAssertFalse(v0.learned, "lr 1e-10 must not pass the learning check")
        let heads0 = try run(try spec("learn-\(family)-heads-lr0", "heads", "1.0e-10", 4, seeds, backbone), store)
        let vh0 = try Self.learningCheck(store, heads0, chance: chance, margin: margin, heads: ["side"])
        XCTAssertFalse(vh0.learned, "heads, lr 1e-10 must not pass")
        XCTAssertTrue(vh0.failures.contains { $0.contains("training loss") }, "\(vh0.failures)")
    }
}
