import Foundation
import XCTest
import Optim
import Runner
import Specs
import Store
import Tensors

/// Resuming after a crash (an error thrown after a committed epoch) and after Ctrl-C, and the
/// learning-rate schedule stored per epoch (also across a resume).
final class RunnerResumeTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("resume") }
    override func tearDown() { scratch.cleanup() }

    private func onlyRun(_ store: ResultStore, _ spec: ExperimentSpec) throws -> RunRow {
        let runs = try storedRuns(store, spec)
        XCTAssertEqual(runs.count, 1)
        return try XCTUnwrap(runs.first)
    }

    /// Crash after epoch 1 of 3 (recorded as failed), then a plain rerun resumes with epoch 2:
    /// epoch 1 is not recomputed and the resumed run equals an uninterrupted one.
    func testResumeAfterCrashContinuesFromNextEpoch() throws {
        let spec = try TinySpecs.resnet(name: "t-resume-crash", variants: ["sidenet"], epochs: 3)
        let store = try ResultStore(path: scratch.databasePath)
        var crashing = testOptions(scratch)
        crashing.afterEpoch = { _, _, _, epoch in
            if epoch == 1 { throw SimulatedCrash(epoch: epoch) }
        }
        let first = try Runner(store: store, options: crashing).run([spec])
        XCTAssertEqual(first.map(\.status), [.failed])
        XCTAssertTrue(first.first?.reason?.contains("simulated crash after epoch 1") ?? false, "\(first)")
        let failed = try onlyRun(store, spec)
        XCTAssertEqual(failed.status, .failed)
        XCTAssertTrue(failed.reason?.contains("simulated crash") ?? false, "reason: \(failed.reason ?? "nil")")
        let epochsAfterCrash = try store.epochs(runId: failed.id!)
        XCTAssertEqual(epochsAfterCrash.map(\.epoch), [1], "epoch 1 was committed before the crash")
        XCTAssertEqual(try store.lastCheckpoint(runId: failed.id!)?.epoch, 1)
        XCTAssertTrue(try store.predictions(runId: failed.id!).isEmpty)

        let progress = RecordingProgress()
        let second = try Runner(store: store, options: testOptions(scratch, progress: progress)).run([spec])
        XCTAssertEqual(second.map(\.status), [.finished], second.compactMap(\.reason).joined())
        let run = try onlyRun(store, spec)
        XCTAssertEqual(run.id, failed.id)
        XCTAssertEqual(run.status, .finished)
        XCTAssertNil(run.reason)
        let epochs = try store.epochs(runId: run.id!)
        XCTAssertEqual(epochs.map(\.epoch), [1, 2, 3], "epochs 1, 2, 3 exactly once")
        XCTAssertEqual(epochs.first, epochsAfterCrash.first, "epoch 1 must not be recomputed (same row, same seconds)")
        let epochLabels = progress.begins.filter { $0.contains(" epoch ") }
        XCTAssertEqual(epochLabels.count, 2, "the resumed run trains epochs 2 and 3 only: \(epochLabels)")
        XCTAssertFalse(epochLabels.contains { $0.hasSuffix("epoch 1/3") }, "\(epochLabels)")
        XCTAssertTrue(progress.notes.contains { $0.contains("resuming") && $0.contains("after epoch 1") }, "\(progress.notes)")
        XCTAssertEqual(try store.predictions(runId: run.id!).count, SharedData.cifarTest)

        // The same spec without interruption (own database and results folder) must produce the
        // same epochs: the checkpoint carries weights, BatchNorm statistics, Adam moments and the
        // plateau state, and shuffling depends on (seed, epoch) only.
        let clean = Scratch("resume-ref")
        defer { clean.cleanup() }
        let refStore = try ResultStore(path: clean.databasePath)
        let ref = try Runner(store: refStore, options: testOptions(clean)).run([spec])
        XCTAssertEqual(ref.map(\.status), [.finished])
        let refRun = try onlyRun(refStore, spec)
        let refEpochs = try refStore.epochs(runId: refRun.id!)
        XCTAssertEqual(refEpochs.count, 3)
        let tol = 1e-5
        for (a, b) in zip(epochs, refEpochs) {
            for (name, x, y) in [("train_loss_main", a.trainLossMain, b.trainLossMain),
                                 ("train_loss_side", a.trainLossSide, b.trainLossSide),
                                 ("val_loss_main", a.valLossMain, b.valLossMain),
                                 ("val_loss_side", a.valLossSide, b.valLossSide)] {
                let d = abs((x ?? .nan) - (y ?? .nan))
                XCTAssertLessThanOrEqual(d, tol, "epoch \(a.epoch) \(name): resumed \(x ?? .nan) vs uninterrupted \(y ?? .nan), |diff| \(d) > \(tol)")
            }
            XCTAssertEqual(a.lr, b.lr, "epoch \(a.epoch) lr")
        }
        XCTAssertEqual(run.bestEpoch, refRun.bestEpoch)
        XCTAssertEqual(run.testAccMain ?? -1, refRun.testAccMain ?? -2, accuracy: 1e-12, "test accuracy resumed vs uninterrupted")
        XCTAssertEqual(run.testAccSide ?? -1, refRun.testAccSide ?? -2, accuracy: 1e-12)
    }

    /// Runs `spec` crashing after epoch `crashAfter`, resumes it, runs it again uninterrupted in a
    /// separate database and results folder, and compares the epoch rows (losses within `tol`).
    private func checkResumeEqualsUninterrupted(_ spec: ExperimentSpec, crashAfter: Int, tol: Double,
                                                file: StaticString = #filePath, line: UInt = #line) throws {
        let store = try ResultStore(path: scratch.databasePath)
        var crashing = testOptions(scratch)
        crashing.afterEpoch = { _, _, _, epoch in if epoch == crashAfter { throw SimulatedCrash(epoch: epoch) } }
        XCTAssertEqual(try Runner(store: store, options: crashing).run([spec]).map(\.status), [.failed], file: file, line: line)
        let out = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(out.map(\.status), [.finished], out.compactMap(\.reason).joined(), file: file, line: line)
        let run = try onlyRun(store, spec)
        let resumed = try store.epochs(runId: run.id!)

        let clean = Scratch("resume-ref")
        defer { clean.cleanup() }
        let refStore = try ResultStore(path: clean.databasePath)
        XCTAssertEqual(try Runner(store: refStore, options: testOptions(clean)).run([spec]).map(\.status), [.finished], file: file, line: line)
        let refRun = try onlyRun(refStore, spec)
        let reference = try refStore.epochs(runId: refRun.id!)
        XCTAssertEqual(resumed.map(\.epoch), Array(1...spec.training.epochs), file: file, line: line)
        XCTAssertEqual(reference.map(\.epoch), Array(1...spec.training.epochs), file: file, line: line)
        for (a, b) in zip(resumed, reference) {
            for (name, x, y) in [("train_loss_main", a.trainLossMain, b.trainLossMain),
                                 ("train_loss_side", a.trainLossSide, b.trainLossSide),
                                 ("val_loss_main", a.valLossMain, b.valLossMain),
                                 ("val_loss_side", a.valLossSide, b.valLossSide)] {
                let d = abs((x ?? .nan) - (y ?? .nan))
                XCTAssertLessThanOrEqual(d, tol, "\(spec.name) epoch \(a.epoch) \(name): resumed \(x ?? .nan) vs "
                                         + "uninterrupted \(y ?? .nan), |diff| \(d) > \(tol)", file: file, line: line)
            }
        }
        XCTAssertEqual(run.testAccMain ?? -1, refRun.testAccMain ?? -2, accuracy: 1e-12, "\(spec.name): test accuracy", file: file, line: line)
    }

    /// Heads regime: the checkpoint holds only head and SideNet; the backbone features come
    /// from the cache. Resuming must give the uninterrupted result.
    func testHeadsRegimeResumeEqualsUninterruptedRun() throws {
        let spec = try TinySpecs.resnet(name: "t-resume-heads", variants: ["sidenet"], regime: "heads", epochs: 3)
        try checkResumeEqualsUninterrupted(spec, crashAfter: 1, tol: 1e-6)
    }

    /// BERT trains with dropout: a resumed run must draw the same dropout masks in epochs 2-3 as
    /// an uninterrupted run, otherwise a resumed result is not reproducible from its seed.
    func testBertResumeEqualsUninterruptedRun() throws {
        let spec = try TinySpecs.bert(name: "t-resume-bert", variants: ["sidenet"], epochs: 3)
        try checkResumeEqualsUninterrupted(spec, crashAfter: 1, tol: 1e-5)
    }

    /// Ctrl-C after epoch 1: outcome and run interrupted, epoch 1 kept; a rerun finishes.
    func testStopRequestMarksInterruptedAndRerunFinishes() throws {
        let spec = try TinySpecs.resnet(name: "t-resume-stop", variants: ["sidenet", "baseline"], epochs: 3)
        let store = try ResultStore(path: scratch.databasePath)
        var stopping = testOptions(scratch)
        let stop = stopping.stop
        stopping.afterEpoch = { _, _, _, epoch in
            if epoch == 1 { stop.request() }
        }
        let first = try Runner(store: store, options: stopping).run([spec])
        XCTAssertEqual(first.map(\.status), [.interrupted], "the runner stops after the interrupted run: \(first)")
        XCTAssertEqual(first.first?.variant, .sidenet)
        var runs = try storedRuns(store, spec)
        XCTAssertEqual(runs.count, 1, "the baseline run must not have started")
        let interrupted = try XCTUnwrap(findRun(runs, .sidenet, 0))
        XCTAssertEqual(interrupted.status, .interrupted)
        let kept = try store.epochs(runId: interrupted.id!)
        XCTAssertEqual(kept.map(\.epoch), [1], "the committed epoch is kept, the interrupted one is not")

        let second = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(second.map(\.status), [.finished, .finished], second.compactMap(\.reason).joined())
        runs = try storedRuns(store, spec)
        XCTAssertEqual(runs.count, 2)
        for run in runs {
            XCTAssertEqual(run.status, .finished, "\(run.variant)")
            XCTAssertEqual(try store.epochs(runId: run.id!).map(\.epoch), [1, 2, 3], "\(run.variant)")
        }
        let resumed = try XCTUnwrap(findRun(runs, .sidenet, 0))
        XCTAssertEqual(try store.epochs(runId: resumed.id!).first, kept.first, "epoch 1 not recomputed")
        XCTAssertEqual(try store.integrityCheck(), ["ok"])
    }

    /// The lr a ReduceLROnPlateau (spec settings) would set before each epoch, fed with the
    /// stored monitored values `val_loss_main + alpha * val_loss_side`.
    private func expectedLRs(_ epochs: [EpochRow], spec: ExperimentSpec) -> [Double] {
        let p = spec.training.plateau
        let adam = Adam(parameters: [("dummy", Parameter(Tensor(zeros: [1])))], lr: spec.training.optimizer.lr)
        let plateau = ReduceLROnPlateau(optimizer: adam, mode: .min, factor: p.factor, patience: p.patience,
                                        threshold: p.threshold, thresholdMode: p.thresholdMode == .rel ? .rel : .abs,
                                        cooldown: p.cooldown, minLR: p.minLR)
        var lrs: [Double] = []
        for e in epochs {
            lrs.append(adam.lr)
            plateau.step(metric: monitored(e, alpha: spec.training.alpha))
        }
        return lrs
    }

    /// patience 0, factor 0.5 and a 20 % relative threshold: the lr drops whenever the
    /// monitored loss does not fall by 20 %; the stored lr column must follow PyTorch's schedule.
    private func lrSpec(_ name: String) throws -> ExperimentSpec {
        try TinySpecs.resnet(name: name, variants: ["sidenet"], epochs: 4, lr: "3.0e-3",
                             plateau: "{factor: 0.5, patience: 0, threshold: 0.2, threshold_mode: rel}", alpha: "0.5")
    }

    func testStoredLearningRatesFollowPlateauSchedule() throws {
        let spec = try lrSpec("t-lr")
        let store = try ResultStore(path: scratch.databasePath)
        let out = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(out.map(\.status), [.finished], out.compactMap(\.reason).joined())
        let run = try onlyRun(store, spec)
        let epochs = try store.epochs(runId: run.id!)
        XCTAssertEqual(epochs.count, 4)
        let expected = expectedLRs(epochs, spec: spec)
        XCTAssertEqual(epochs.map(\.lr), expected, "stored lr vs ReduceLROnPlateau over monitored "
                       + "\(epochs.map { monitored($0, alpha: 0.5) })")
        XCTAssertLessThan(epochs.last!.lr, spec.training.optimizer.lr,
                          "the test needs at least one lr drop; monitored \(epochs.map { monitored($0, alpha: 0.5) })")
    }

    /// The same schedule across a crash after epoch 2: the resumed run must restore the reduced
    /// lr and the plateau counters.
    func testLearningRateScheduleSurvivesResume() throws {
        let spec = try lrSpec("t-lr-resume")
        let store = try ResultStore(path: scratch.databasePath)
        var crashing = testOptions(scratch)
        crashing.afterEpoch = { _, _, _, epoch in if epoch == 2 { throw SimulatedCrash(epoch: epoch) } }
        XCTAssertEqual(try Runner(store: store, options: crashing).run([spec]).map(\.status), [.failed])
        let out = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(out.map(\.status), [.finished], out.compactMap(\.reason).joined())
        let run = try onlyRun(store, spec)
        let epochs = try store.epochs(runId: run.id!)
        XCTAssertEqual(epochs.map(\.epoch), [1, 2, 3, 4])
        let expected = expectedLRs(epochs, spec: spec)
        XCTAssertEqual(epochs.map(\.lr), expected, "stored lr vs ReduceLROnPlateau over monitored "
                       + "\(epochs.map { monitored($0, alpha: 0.5) })")
    }
}
