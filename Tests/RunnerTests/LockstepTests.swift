import Foundation
import XCTest
import Models
import Runner
import Specs
import Store
import Tensors

/// Regimes on cached features train all runs of a spec in lockstep (`Runner+Lockstep.swift`).
/// Every run must equal the same run trained alone, bit for bit: its epochs (losses, accuracies,
/// lr), selected epoch, and every stored validation and test logit. No tolerance is needed:
/// each run computes the same operations in the same order whatever runs beside it (one run
/// per thread; GEMM rows and columns do not depend on their neighbours).
final class LockstepTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("lockstep") }
    override func tearDown() { scratch.cleanup() }

    /// 2 seeds x 2 variants, 4 epochs, a schedule that drops the lr (patience 0, 20 % threshold).
    /// With a backbone weight file (the paper's case) all four runs share one feature set and
    /// train as one group; `weights: null` gives each seed its own random backbone and features.
    private func spec(_ name: String, regime: String = "heads", sharedBackbone: Bool = true,
                      monitor: String = "val_loss", lr: String = "3.0e-3") throws -> ExperimentSpec {
        try TinySpecs.resnet(name: name, seeds: [0, 1], variants: ["sidenet", "baseline"], regime: regime, epochs: 4,
                             weights: sharedBackbone ? try backboneWeights() : nil, lr: lr,
                             plateau: "{factor: 0.5, patience: 0, threshold: 0.2, threshold_mode: rel, monitor: \(monitor)}",
                             evalBatch: 16, headHidden: 8, sideHidden: 6)
    }

    /// The tiny ResNet's backbone (torchvision keys) as safetensors, outside every results folder.
    private func backboneWeights() throws -> String {
        let url = scratch.dir.appendingPathComponent("weights/tiny-resnet-backbone.safetensors")
        if FileManager.default.fileExists(atPath: url.path) { return url.path }
        var rng = SeededGenerator(seed: 99)
        let backbone = ResNet(config: ResNetConfig(block: .basic, blocks: [1, 1, 1, 1], width: 4, numClasses: 10),
                              includeFC: false, rng: &rng)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try saveCheckpoint(backbone, to: url)
        return url.path
    }

    /// Everything a run stores, for exact comparison.
    private struct Stored: Equatable {
        var epochs: [[Double?]]
        var bestEpoch: Int?
        var accMain: Double?, accSide: Double?
        var test: [[Data?]], validation: [[Data?]]
    }

    private func stored(_ store: ResultStore, _ spec: ExperimentSpec, _ variant: RunVariant, _ seed: Int) throws -> Stored {
        let run = try XCTUnwrap(findRun(try storedRuns(store, spec), variant, seed), "\(variant) seed \(seed)")
        XCTAssertEqual(run.status, .finished, "\(variant) seed \(seed): \(run.reason ?? "")")
        let epochs = try store.epochs(runId: run.id!).map {
            [Double($0.epoch), $0.trainLossMain, $0.trainLossSide, $0.valLossMain, $0.valLossSide, $0.valAccMain, $0.valAccSide, $0.lr]
        }
        let logits: (PredictionRow) -> [Data?] = { [$0.mainLogits, $0.sideLogits] }  // raw Float32 bytes
        return Stored(epochs: epochs, bestEpoch: run.bestEpoch, accMain: run.testAccMain, accSide: run.testAccSide,
                      test: try store.predictions(runId: run.id!).map(logits),
                      validation: try store.validationPredictions(runId: run.id!).map(logits))
    }

    /// Equal, or a failure naming the first field that differs (the values are long).
    private func assertSame(_ a: Stored, _ b: Stored, _ label: String, line: UInt = #line) {
        if a == b { return }
        if a.epochs != b.epochs {
            let i = Array(zip(a.epochs, b.epochs)).firstIndex { $0 != $1 } ?? min(a.epochs.count, b.epochs.count)
            return XCTFail("\(label): epoch rows differ first at \(i): \(a.epochs.count > i ? "\(a.epochs[i])" : "-") vs "
                           + "\(b.epochs.count > i ? "\(b.epochs[i])" : "-")", line: line)
        }
        if a.bestEpoch != b.bestEpoch || a.accMain != b.accMain || a.accSide != b.accSide {
            return XCTFail("\(label): best epoch / test accuracies differ", line: line)
        }
        let t = Array(zip(a.test, b.test)).firstIndex { $0 != $1 }
        let v = Array(zip(a.validation, b.validation)).firstIndex { $0 != $1 }
        XCTFail("\(label): logits differ (test row \(t.map(String.init) ?? "-"), validation row \(v.map(String.init) ?? "-"), "
                + "counts \(a.test.count)/\(b.test.count), \(a.validation.count)/\(b.validation.count))", line: line)
    }

    private func runAll(_ spec: ExperimentSpec, _ scratch: Scratch, configure: (inout RunOptions) -> Void = { _ in }) throws -> ResultStore {
        let store = try ResultStore(path: scratch.databasePath)
        var options = testOptions(scratch)
        configure(&options)
        let out = try Runner(store: store, options: options).run([spec])
        XCTAssertTrue(out.allSatisfy { $0.status == .finished }, "\(out)")
        return store
    }

    private let runs: [(RunVariant, Variant, Int)] = [(.sidenet, .sidenet, 0), (.baseline, .baseline, 0),
                                                     (.sidenet, .sidenet, 1), (.baseline, .baseline, 1)]

    /// All four runs together = each run alone (its own process state, database and results),
    /// and = the one-run-after-the-other path (`RunJob`), exactly.
    func testLockstepRunsEqualRunsAlone() throws {
        // here both variants' schedules drop the lr at the same epochs: 2 lanes shared throughout
        XCTAssertEqual(try checkLockstepEqualsAlone(try spec("t-lockstep")), [2, 2, 2, 2])
    }

    /// At lr 0.1 the seed-0 runs' schedules (watching different losses) part after epoch 2: from
    /// then on both runs train their own MainNet lanes (the lrs, then the Adam states differ),
    /// the seed-1 runs still share theirs; each run equals itself alone.
    func testMainNetLanesStopSharingWhenTheSchedulesPart() throws {
        XCTAssertEqual(try checkLockstepEqualsAlone(try spec("t-lockstep-part", lr: "1.0e-1")), [2, 2, 1, 1])
    }

    /// With the schedule watching the MainNet's loss alone, the (sidenet, s) and (baseline, s)
    /// runs keep one lr: their MainNet head lanes compute the same bits and train once every
    /// epoch (`LockstepTwins`); each run still equals itself alone and the `RunJob` path.
    func testSharedMainNetLanesEqualRunsAlone() throws {
        let shared = try checkLockstepEqualsAlone(try spec("t-lockstep-main", monitor: "val_loss_main"))
        XCTAssertEqual(shared, [2, 2, 2, 2])
    }

    /// The same with one random backbone per seed (two groups, one after the other).
    func testLockstepRunsEqualRunsAloneWithPerSeedBackbones() throws {
        try checkLockstepEqualsAlone(try spec("t-lockstep-random", sharedBackbone: false))
    }

    /// Returns the number of MainNet head lanes shared in each epoch of the lockstep run.
    @discardableResult
    private func checkLockstepEqualsAlone(_ spec: ExperimentSpec) throws -> [Int] {
        let progress = RecordingProgress()
        let together = try runAll(spec, scratch) { $0.progress = progress }
        for (rv, v, seed) in runs {
            let alone = Scratch("lockstep-alone")
            defer { alone.cleanup() }
            let store = try runAll(spec, alone) { $0.seeds = [seed]; $0.variants = [v] }
            XCTAssertEqual(try storedRuns(store, spec).count, 1)
            let a = try stored(together, spec, rv, seed), b = try stored(store, spec, rv, seed)
            assertSame(a, b, "\(v) seed \(seed): lockstep vs alone")
            XCTAssertEqual(a.epochs.count, 4)
            XCTAssertLessThan(a.epochs.last!.last!!, a.epochs.first!.last!!, "the schedule must drop the lr at least once: \(a.epochs)")
        }
        let sequential = Scratch("lockstep-sequential")
        defer { sequential.cleanup() }
        let store = try runAll(spec, sequential) { $0.lockstep = false }
        for (rv, v, seed) in runs {
            assertSame(try stored(together, spec, rv, seed), try stored(store, spec, rv, seed), "\(v) seed \(seed): lockstep vs RunJob")
        }
        return progress.begins.filter { $0.contains("in lockstep") }.map { label in
            guard let r = label.range(of: " MainNet head lane(s) shared") else { return 0 }
            return Int(label[..<r.lowerBound].components(separatedBy: ", ").last ?? "") ?? -1
        }
    }

    /// Different variants and seeds must actually differ (else the equality above proves little).
    func testRunsOfAGroupDiffer() throws {
        let spec = try spec("t-lockstep-differ")
        let store = try runAll(spec, scratch)
        let all = try runs.map { try stored(store, spec, $0.0, $0.2) }
        XCTAssertNotEqual(all[0].epochs, all[2].epochs, "seed 0 vs seed 1")
        XCTAssertNotEqual(all[0].test, all[1].test, "sidenet vs baseline variant")
    }

    /// Regime sidenet trains in lockstep too (the MainNet loaded from a full run's checkpoint,
    /// kept in eval mode): each run equals itself alone.
    func testSideNetRegimeLockstepEqualsAlone() throws {
        let full = try TinySpecs.resnet(name: "t-lockstep-full", variants: ["sidenet"], regime: "full", epochs: 1)
        let source = try runAll(full, scratch)
        let run = try XCTUnwrap(findRun(try storedRuns(source, full), .sidenet, 0))
        let best = try XCTUnwrap(try source.checkpoint(runId: run.id!, kind: .best))
        let spec = try TinySpecs.resnet(name: "t-lockstep-side", seeds: [0, 1], variants: ["sidenet"], regime: "sidenet",
                                        epochs: 2, weights: best.path)
        let togetherDir = Scratch("lockstep-side")
        defer { togetherDir.cleanup() }
        let together = try runAll(spec, togetherDir)
        for seed in [0, 1] {
            let alone = Scratch("lockstep-side-alone")
            defer { alone.cleanup() }
            let s = try runAll(spec, alone) { $0.seeds = [seed] }
            assertSame(try stored(together, spec, .sidenet, seed), try stored(s, spec, .sidenet, seed), "seed \(seed)")
        }
    }

    /// SIGTERM during a lockstep epoch (requested after run 3 of 4 committed epoch 2): every run
    /// keeps epochs 1-2 and is marked interrupted; the rerun resumes all four in lockstep and
    /// each ends exactly as an uninterrupted run.
    func testStopInLockstepKeepsCommittedEpochsAndResumesExactly() throws {
        let spec = try spec("t-lockstep-stop")
        let store = try ResultStore(path: scratch.databasePath)
        var options = testOptions(scratch)
        let stop = options.stop
        options.afterEpoch = { _, variant, seed, epoch in
            if variant == .sidenet && seed == 1 && epoch == 2 { stop.request(signal: SIGTERM) }
        }
        let first = try Runner(store: store, options: options).run([spec])
        XCTAssertEqual(first.map(\.status), [.interrupted, .interrupted, .interrupted, .interrupted], "\(first)")
        XCTAssertEqual(first.first?.reason, "stopped by SIGTERM; rerun to resume")
        for run in try storedRuns(store, spec) {
            XCTAssertEqual(run.status, .interrupted)
            XCTAssertEqual(try store.epochs(runId: run.id!).map(\.epoch), [1, 2], "\(run.variant) seed \(run.seed)")
            XCTAssertTrue(try store.predictions(runId: run.id!).isEmpty)
        }
        let progress = RecordingProgress()
        let second = try Runner(store: store, options: testOptions(scratch, progress: progress)).run([spec])
        XCTAssertEqual(second.map(\.status), [.finished, .finished, .finished, .finished], "\(second)")
        XCTAssertEqual(progress.notes.filter { $0.contains("resuming") && $0.contains("after epoch 2") }.count, 4, "\(progress.notes)")
        let clean = Scratch("lockstep-clean")
        defer { clean.cleanup() }
        let reference = try runAll(spec, clean)
        for (rv, v, seed) in runs {
            assertSame(try stored(store, spec, rv, seed), try stored(reference, spec, rv, seed), "\(v) seed \(seed)")
        }
        XCTAssertEqual(try store.integrityCheck(), ["ok"])
    }

    /// An error in one run (thrown after its epoch 1) fails that run only; the other three
    /// finish. The rerun resumes the failed run alone, and it ends exactly as an uninterrupted run.
    func testOneFailingRunLeavesTheOthersAndResumesAlone() throws {
        let spec = try spec("t-lockstep-crash")
        let store = try ResultStore(path: scratch.databasePath)
        var options = testOptions(scratch)
        options.afterEpoch = { _, variant, seed, epoch in
            if variant == .baseline && seed == 0 && epoch == 1 { throw SimulatedCrash(epoch: epoch) }
        }
        let first = try Runner(store: store, options: options).run([spec])
        XCTAssertEqual(first.map(\.status), [.finished, .failed, .finished, .finished], "\(first)")
        XCTAssertTrue(first[1].reason?.contains("simulated crash after epoch 1") ?? false, "\(first[1])")
        let crashed = try XCTUnwrap(findRun(try storedRuns(store, spec), .baseline, 0))
        XCTAssertEqual(crashed.status, .failed)
        XCTAssertEqual(try store.epochs(runId: crashed.id!).map(\.epoch), [1])
        let second = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(second.map(\.status), [.skipped, .finished, .skipped, .skipped], "\(second)")
        let clean = Scratch("lockstep-clean")
        defer { clean.cleanup() }
        let reference = try runAll(spec, clean)
        for (rv, v, seed) in runs {
            assertSame(try stored(store, spec, rv, seed), try stored(reference, spec, rv, seed), "\(v) seed \(seed)")
        }
    }
}
