import Foundation
import XCTest
import Runner
import Specs
import Store

/// A short `full`-regime run end to end (tiny ResNet on synthetic CIFAR, tiny BERT on synthetic
/// SST) and what it leaves in the store; skipping finished runs and `force`.
final class RunnerEndToEndTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("e2e") }
    override func tearDown() { scratch.cleanup() }

    /// Checks everything the store should hold for a finished `full` run of `spec`.
    private func checkFinishedRuns(_ store: ResultStore, _ spec: ExperimentSpec, outputs: Int, numClasses: Int,
                                   testCount: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let runs = try storedRuns(store, spec, file: file, line: line)
        XCTAssertEqual(runs.count, spec.seeds.count * spec.variants.count, "one run per (variant, seed)", file: file, line: line)
        let alpha = spec.training.alpha
        for variant in spec.variants {
            for seed in spec.seeds {
                let rv: RunVariant = variant == .sidenet ? .sidenet : .baseline
                guard let run = findRun(runs, rv, seed), let runId = run.id else {
                    XCTFail("no run for \(variant) seed \(seed)", file: file, line: line); continue
                }
                let tag = "\(spec.name) \(variant.rawValue) seed \(seed)"
                XCTAssertEqual(run.status, .finished, tag, file: file, line: line)
                XCTAssertNil(run.reason, tag, file: file, line: line)
                XCTAssertEqual(run.regime, "full", tag, file: file, line: line)
                XCTAssertEqual(run.numClasses, numClasses, tag, file: file, line: line)
                // the split the run used is recorded: scheme, seed and an index-list hash
                let split = run.dataSplit ?? ""
                XCTAssertTrue(split.contains("split_seed") && split.contains("indices"), "\(tag): data_split = \(split)",
                              file: file, line: line)
                for (name, v) in [("params_prefix", run.paramsPrefix), ("params_sidenet", run.paramsSidenet),
                                  ("params_mainnet", run.paramsMainnet), ("flops_prefix", run.flopsPrefix),
                                  ("flops_sidenet", run.flopsSidenet), ("flops_mainnet", run.flopsMainnet)] {
                    XCTAssertGreaterThan(v ?? 0, 0, "\(tag): \(name) = \(String(describing: v))", file: file, line: line)
                }

                // one epoch row per epoch, in order
                let epochs = try store.epochs(runId: runId)
                XCTAssertEqual(epochs.map(\.epoch), Array(1...spec.training.epochs), tag, file: file, line: line)
                for e in epochs {
                    XCTAssertEqual(e.lr, spec.training.optimizer.lr, "\(tag) epoch \(e.epoch): lr (patience 5, no drop)", file: file, line: line)
                    XCTAssertTrue((e.trainLossMain ?? .nan).isFinite && (e.valLossMain ?? .nan).isFinite, tag, file: file, line: line)
                    XCTAssertTrue((0...1).contains(e.valAccMain ?? -1), tag, file: file, line: line)
                    XCTAssertGreaterThan(e.seconds, 0, tag, file: file, line: line)
                    if variant == .sidenet {
                        XCTAssertNotNil(e.trainLossSide, tag, file: file, line: line)
                        XCTAssertNotNil(e.valLossSide, tag, file: file, line: line)
                        XCTAssertNotNil(e.valAccSide, tag, file: file, line: line)
                    } else {
                        XCTAssertNil(e.trainLossSide, tag, file: file, line: line)
                        XCTAssertNil(e.valLossSide, tag, file: file, line: line)
                        XCTAssertNil(e.valAccSide, tag, file: file, line: line)
                    }
                }
                // model selection: the best epoch minimises the monitored validation loss
                if let best = epochs.min(by: { monitored($0, alpha: alpha) < monitored($1, alpha: alpha) }) {
                    XCTAssertEqual(run.bestEpoch, best.epoch, "\(tag): best epoch vs min of val_loss_main + alpha*val_loss_side "
                                   + "\(epochs.map { monitored($0, alpha: alpha) })", file: file, line: line)
                }
                let last = try store.lastCheckpoint(runId: runId)
                XCTAssertEqual(last?.epoch, spec.training.epochs, tag, file: file, line: line)
                if let p = last?.path {
                    XCTAssertTrue(FileManager.default.fileExists(atPath: p), "\(tag): last checkpoint \(p) missing", file: file, line: line)
                }
                let bestCkpt = try store.checkpoint(runId: runId, kind: .best)
                XCTAssertEqual(bestCkpt?.epoch, run.bestEpoch, tag, file: file, line: line)

                // one prediction row per test example
                let preds = try store.predictions(runId: runId)
                XCTAssertEqual(preds.count, testCount, "\(tag): prediction rows", file: file, line: line)
                XCTAssertEqual(preds.map(\.idx), Array(0..<testCount), tag, file: file, line: line)
                var correctMain = 0, correctSide = 0
                for p in preds {
                    let logits = try p.mainLogitValues()
                    XCTAssertEqual(logits.count, outputs, "\(tag) idx \(p.idx): main logits", file: file, line: line)
                    XCTAssertTrue((0..<numClasses).contains(p.label), tag, file: file, line: line)
                    let (pred, conf) = expectedPrediction(logits)
                    XCTAssertEqual(p.mainPred, pred, "\(tag) idx \(p.idx): main_pred vs argmax of stored logits", file: file, line: line)
                    XCTAssertEqual(p.mainConf, conf, accuracy: 1e-5, "\(tag) idx \(p.idx): main_conf (tolerance 1e-5)", file: file, line: line)
                    if p.mainPred == p.label { correctMain += 1 }
                    if variant == .sidenet {
                        let side = try p.sideLogitValues()
                        XCTAssertEqual(side?.count, outputs, "\(tag) idx \(p.idx): side logits", file: file, line: line)
                        XCTAssertNotNil(p.sidePred, tag, file: file, line: line)
                        XCTAssertNotNil(p.sideConf, tag, file: file, line: line)
                        if let side, side.count == outputs {
                            let (sp, sc) = expectedPrediction(side)
                            XCTAssertEqual(p.sidePred, sp, "\(tag) idx \(p.idx): side_pred", file: file, line: line)
                            XCTAssertEqual(p.sideConf ?? -1, sc, accuracy: 1e-5, "\(tag) idx \(p.idx): side_conf", file: file, line: line)
                        }
                        if p.sidePred == p.label { correctSide += 1 }
                    } else {
                        XCTAssertNil(p.sideLogits, "\(tag) idx \(p.idx): baseline has no SideNet logits", file: file, line: line)
                        XCTAssertNil(p.sidePred, tag, file: file, line: line)
                        XCTAssertNil(p.sideConf, tag, file: file, line: line)
                    }
                }
                XCTAssertEqual(run.testAccMain ?? -1, Double(correctMain) / Double(testCount), accuracy: 1e-12,
                               "\(tag): test_acc_main vs the stored predictions", file: file, line: line)
                if variant == .sidenet {
                    XCTAssertEqual(run.testAccSide ?? -1, Double(correctSide) / Double(testCount), accuracy: 1e-12,
                                   "\(tag): test_acc_side vs the stored predictions", file: file, line: line)
                } else {
                    XCTAssertNil(run.testAccSide, tag, file: file, line: line)
                }
            }
        }
        let integrity = try store.integrityCheck()
        XCTAssertEqual(integrity, ["ok"], "PRAGMA integrity_check", file: file, line: line)
    }

    /// Class and confidence from stored logits: argmax / max softmax, or sigmoid for one logit.
    private func expectedPrediction(_ z: [Float]) -> (Int, Double) {
        let row = z.map(Double.init)
        if row.count == 1 {
            let p = 1 / (1 + exp(-row[0]))
            return (p >= 0.5 ? 1 : 0, max(p, 1 - p))
        }
        var best = 0
        for j in 1..<row.count where row[j] > row[best] { best = j }
        let sum = row.reduce(0) { $0 + exp($1 - row[best]) }
        return (best, 1 / sum)
    }

    func testResNetFullRegimeEndToEnd() throws {
        let spec = try TinySpecs.resnet(name: "t-resnet-full", epochs: 2)
        let store = try ResultStore(path: scratch.databasePath)
        let runner = Runner(store: store, options: testOptions(scratch))
        let outcomes = try runner.run([spec])
        XCTAssertEqual(outcomes.count, 2)
        for o in outcomes {
            XCTAssertEqual(o.status, .finished, "\(o.variant) seed \(o.seed): \(o.reason ?? "")")
            XCTAssertNotNil(o.testAccMain)
            XCTAssertEqual(o.testAccSide == nil, o.variant == .baseline)
        }
        try checkFinishedRuns(store, spec, outputs: 10, numClasses: 10, testCount: SharedData.cifarTest)
        XCTAssertEqual(runner.stats.backboneFeatureBatches, 0, "regime full computes no cached features")
    }

    func testBertFullRegimeEndToEnd() throws {
        let spec = try TinySpecs.bert(name: "t-bert-full", epochs: 2)
        let store = try ResultStore(path: scratch.databasePath)
        let runner = Runner(store: store, options: testOptions(scratch))
        let outcomes = try runner.run([spec])
        XCTAssertEqual(outcomes.map(\.status), [.finished, .finished], outcomes.compactMap(\.reason).joined(separator: "; "))
        try checkFinishedRuns(store, spec, outputs: 1, numClasses: 2, testCount: SharedData.sstTestCount)
    }

    /// A second run of a finished spec skips every run and adds nothing; `force` reruns them.
    func testFinishedRunsAreSkippedUnlessForced() throws {
        let spec = try TinySpecs.resnet(name: "t-skip", variants: ["baseline"], epochs: 1)
        let store = try ResultStore(path: scratch.databasePath)
        let first = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(first.map(\.status), [.finished], first.compactMap(\.reason).joined())
        let run1 = try XCTUnwrap(storedRuns(store, spec).first)
        let epochs1 = try store.epochs(runId: run1.id!)
        XCTAssertEqual(epochs1.count, 1)

        let progress = RecordingProgress()
        let second = try Runner(store: store, options: testOptions(scratch, progress: progress)).run([spec])
        XCTAssertEqual(second.map(\.status), [.skipped])
        XCTAssertEqual(second.first?.testAccMain, run1.testAccMain, "a skipped outcome reports the stored accuracy")
        let run2 = try XCTUnwrap(storedRuns(store, spec).first)
        XCTAssertEqual(run2, run1, "skipping must not touch the run row")
        XCTAssertEqual(try store.epochs(runId: run1.id!), epochs1, "skipping must add no epochs")
        XCTAssertFalse(progress.begins.contains { $0.contains("epoch") }, "no epoch may run: \(progress.begins)")

        var forced = testOptions(scratch)
        forced.force = true
        let third = try Runner(store: store, options: forced).run([spec])
        XCTAssertEqual(third.map(\.status), [.finished], third.compactMap(\.reason).joined())
        let runs3 = try storedRuns(store, spec)
        XCTAssertEqual(runs3.count, 1, "force reuses the run row")
        let run3 = try XCTUnwrap(runs3.first)
        XCTAssertEqual(run3.id, run1.id)
        XCTAssertEqual(run3.status, .finished)
        XCTAssertEqual(run3.attempts, run1.attempts + 1)
        let epochs3 = try store.epochs(runId: run3.id!)
        XCTAssertEqual(epochs3.map(\.epoch), [1])
        XCTAssertNotEqual(epochs3.first?.seconds, epochs1.first?.seconds, "the forced rerun recomputed epoch 1")
        XCTAssertEqual(try store.predictions(runId: run3.id!).count, SharedData.cifarTest)
        XCTAssertEqual(try store.integrityCheck(), ["ok"])
    }
}
