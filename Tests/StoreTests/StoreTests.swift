import Foundation
import XCTest
import Store

/// A settable clock shared with a store (tests move time forward to make heartbeats stale).
final class FakeClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now = Date(timeIntervalSince1970: 1_700_000_000)
    func get() -> Date { lock.lock(); defer { lock.unlock() }; return now }
    func advance(_ s: TimeInterval) { lock.lock(); now += s; lock.unlock() }
}

final class StoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    var dbPath: String { dir.appendingPathComponent("sub/sidenet.sqlite").path }

    func open(clock: FakeClock? = nil, staleAfter: TimeInterval = 60, process: ClaimOwner = .current()) throws -> ResultStore {
        if let clock { return try ResultStore(path: dbPath, staleAfter: staleAfter, clock: { clock.get() }, process: process) }
        return try ResultStore(path: dbPath, staleAfter: staleAfter, process: process)
    }

    func claim(_ s: ResultStore, _ exp: Int64, _ v: RunVariant = .sidenet, seed: Int = 0, force: Bool = false) throws -> ClaimResult {
        try s.claimRun(experimentId: exp, variant: v, seed: seed, host: "h", threads: 2, gitCommit: "abc", regime: "heads", force: force)
    }

    func epoch(_ run: Int64, _ e: Int, loss: Double = 1) -> EpochRow {
        EpochRow(runId: run, epoch: e, trainLossMain: loss, trainLossSide: loss * 2, valLossMain: loss,
                 valLossSide: nil, valAccMain: 0.5, valAccSide: nil, lr: 3e-4, seconds: 1.5)
    }

    let summary = RunSummary(numClasses: 10, paramsPrefix: 1000, paramsSidenet: 50, paramsMainnet: 5000,
                             flopsPrefix: 10_000, flopsSidenet: 100, flopsMainnet: 50_000, bestEpoch: 2,
                             testAccMain: 0.9, testAccSide: 0.8)

    func testMigrationsOnFreshDatabase() throws {
        let s = try open()
        XCTAssertEqual(try s.appliedMigrations(), ["v1-initial", "v2-data-split", "v3-claim-owner", "v4-validation-predictions",
                                                       "v5-experiment-info"])
        XCTAssertEqual(try s.integrityCheck(), ["ok"])
        XCTAssertEqual(try s.experiments(), [])
        // Reopening does not re-run or fail the migrations.
        let again = try open()
        XCTAssertEqual(try again.appliedMigrations(), ["v1-initial", "v2-data-split", "v3-claim-owner", "v4-validation-predictions",
                                                       "v5-experiment-info"])
    }

    func testRegisterExperimentIsIdempotent() throws {
        let s = try open()
        let a = try s.registerExperiment(name: "e", specJSON: "{}", specHash: "h1")
        let b = try s.registerExperiment(name: "e", specJSON: "{}", specHash: "h1")
        let c = try s.registerExperiment(name: "e", specJSON: "{\"x\":1}", specHash: "h2")
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        let other = try open()
        XCTAssertEqual(try other.registerExperiment(name: "e", specJSON: "{}", specHash: "h1"), a)
        XCTAssertEqual(try s.experiments().map { $0.specHash }, ["h1", "h2"])
        XCTAssertEqual(try s.experiments(named: "e").first?.specHash, "h2")
    }

    func testClaimSkipForceResume() throws {
        let clock = FakeClock()
        // a runs on another machine: only its heartbeat tells whether it still holds the run
        let a = try open(clock: clock, process: ProcessFixtures.otherMachine())
        let b = try open(clock: clock)
        let exp = try a.registerExperiment(name: "e", specJSON: "{}", specHash: "h")

        guard case .claimed(let run, nil) = try claim(a, exp) else { return XCTFail("first claim") }
        // Held with a fresh heartbeat: skipped by another store, even with force, and by itself.
        XCTAssertEqual(try claim(b, exp), .skipRunning(runId: run))
        XCTAssertEqual(try claim(b, exp, force: true), .skipRunning(runId: run))
        XCTAssertEqual(try claim(a, exp), .skipRunning(runId: run))
        // A different seed / variant is a different run.
        guard case .claimed(let other, nil) = try claim(b, exp, .baseline) else { return XCTFail("baseline claim") }
        XCTAssertNotEqual(other, run)

        try a.commitEpoch(runId: run, epoch: epoch(run, 1), checkpointPath: "ck/1.st", bestCheckpointPath: "ck/best.st")
        try a.commitEpoch(runId: run, epoch: epoch(run, 2), checkpointPath: "ck/2.st")
        // b is not the owner: it may not write to a's run.
        XCTAssertThrowsError(try b.commitEpoch(runId: run, epoch: epoch(run, 3), checkpointPath: "x")) { e in
            guard case StoreError.notOwner = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try b.heartbeat(runId: run))

        // Heartbeat keeps the claim alive across time.
        clock.advance(45); try a.heartbeat(runId: run); clock.advance(45)
        XCTAssertEqual(try claim(b, exp), .skipRunning(runId: run))
        // Stale: b takes over and resumes after the last committed epoch.
        clock.advance(61)
        XCTAssertEqual(try claim(b, exp), .claimed(runId: run, resumeFromEpoch: 2))
        XCTAssertThrowsError(try a.heartbeat(runId: run), "the old owner must notice the takeover")
        XCTAssertEqual(try b.run(id: run)?.attempts, 2)

        // failed -> resumed; interrupted -> resumed.
        try b.commitEpoch(runId: run, epoch: epoch(run, 3), checkpointPath: "ck/3.st")
        try b.failRun(runId: run, reason: "boom")
        XCTAssertEqual(try a.run(id: run)?.status, .failed)
        XCTAssertEqual(try a.run(id: run)?.reason, "boom")
        XCTAssertEqual(try claim(a, exp), .claimed(runId: run, resumeFromEpoch: 3))
        try a.markInterrupted(runId: run)
        XCTAssertEqual(try a.run(id: run)?.status, .interrupted)
        XCTAssertEqual(try claim(a, exp), .claimed(runId: run, resumeFromEpoch: 3))

        // finished -> skipped; force -> fresh restart with rows cleared.
        let preds = [PredictionRow(runId: run, idx: 0, label: 1, sidePred: 1, sideConf: 0.7, mainPred: 1,
                                   mainConf: 0.9, sideLogits: [0, 1], mainLogits: [0, 2])]
        try a.finishRun(runId: run, predictions: preds, summary: summary)
        XCTAssertEqual(try claim(b, exp), .skipFinished(runId: run))
        let finished = try XCTUnwrap(try b.run(id: run))
        XCTAssertEqual(finished.status, .finished)
        XCTAssertEqual(finished.summary, summary)
        XCTAssertEqual(try b.epochs(runId: run).map { $0.epoch }, [1, 2, 3])
        XCTAssertEqual(try claim(b, exp, force: true), .claimed(runId: run, resumeFromEpoch: nil))
        XCTAssertEqual(try b.epochs(runId: run), [])
        XCTAssertEqual(try b.predictions(runId: run), [])
        XCTAssertNil(try b.lastCheckpoint(runId: run))
        XCTAssertNil(try b.run(id: run)?.testAccMain)
    }

    func testResumeDropsEpochsAfterLastCheckpoint() throws {
        let clock = FakeClock()
        let a = try open(clock: clock)
        let exp = try a.registerExperiment(name: "e", specJSON: "{}", specHash: "h")
        guard case .claimed(let run, _) = try claim(a, exp) else { return XCTFail() }
        try a.commitEpoch(runId: run, epoch: epoch(run, 1), checkpointPath: "c1")
        try a.commitEpoch(runId: run, epoch: epoch(run, 2), checkpointPath: nil)  // no checkpoint saved
        try a.markInterrupted(runId: run)
        XCTAssertEqual(try claim(a, exp), .claimed(runId: run, resumeFromEpoch: 1))
        XCTAssertEqual(try a.epochs(runId: run).map { $0.epoch }, [1])
    }

    func testConcurrentClaimsFromTwoPoolsNeverDuplicate() throws {
        // Two ResultStores = two DatabasePools on one file; two threads per store race for
        // every (experiment, variant, seed) in the same order, released together.
        let stores = [try open(), try open()]
        var exps: [Int64] = []
        for i in 0..<4 { exps.append(try stores[0].registerExperiment(name: "c\(i)", specJSON: "{}", specHash: "h")) }
        let keys: [(Int64, RunVariant, Int)] = exps.flatMap { e in
            RunVariant.allCases.flatMap { v in (0..<10).map { (e, v, $0) } }
        }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var won: [String: [Int]] = [:]   // run key -> workers that got .claimed
            var errors: [String] = []
        }
        let results = Results()
        let lock = results.lock
        let start = DispatchSemaphore(value: 0)
        let workers = 4
        let group = DispatchGroup()
        for w in 0..<workers {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                start.wait()
                let store = stores[w % 2]
                for (e, v, seed) in keys {
                    do {
                        if case .claimed = try store.claimRun(experimentId: e, variant: v, seed: seed, host: "w\(w)",
                                                              threads: 1, gitCommit: nil, regime: "full", force: false) {
                            lock.lock(); results.won["\(e)/\(v.rawValue)/\(seed)", default: []].append(w); lock.unlock()
                        }
                    } catch {
                        lock.lock(); results.errors.append("\(error)"); lock.unlock()
                    }
                }
            }
        }
        for _ in 0..<workers { start.signal() }
        group.wait()
        let won = results.won
        XCTAssertEqual(results.errors, [])
        let duplicated = won.filter { $0.value.count > 1 }
        XCTAssertTrue(duplicated.isEmpty, "claimed more than once: \(duplicated)")
        XCTAssertEqual(won.count, keys.count, "every run claimed exactly once")
        var perStore = [0, 0]
        for (_, ws) in won { for w in ws { perStore[w % 2] += 1 } }
        var rows = 0
        for e in exps {
            for r in try stores[0].runs(experiment: e) {
                rows += 1
                let w = try XCTUnwrap(won["\(e)/\(r.variant.rawValue)/\(r.seed)"]?.first)
                XCTAssertEqual(r.owner, stores[w % 2].ownerToken, "run owner is the store that won the claim")
                XCTAssertEqual(r.attempts, 1)
            }
        }
        XCTAssertEqual(rows, keys.count)
        print("concurrent claims won per store: \(perStore)")
    }

    func testPredictionsRoundTripWithLogits() throws {
        let s = try open()
        let exp = try s.registerExperiment(name: "p", specJSON: "{}", specHash: "h")
        guard case .claimed(let side, _) = try claim(s, exp, .sidenet),
              case .claimed(let base, _) = try claim(s, exp, .baseline) else { return XCTFail() }
        let weird: [Float] = [-0.0, 1e-38, -3.4028235e38, .infinity, 0.1, -7.25, 123456.78]
        var preds: [PredictionRow] = []
        for i in 0..<200 {
            let logits = (0..<10).map { Float(i) * 0.37 - Float($0) * 1.1 }
            preds.append(PredictionRow(runId: side, idx: i, label: i % 10, sidePred: (i * 3) % 10, sideConf: 0.25 + Double(i) / 400,
                                       mainPred: i % 10, mainConf: 0.5, sideLogits: i == 7 ? weird : logits.reversed(), mainLogits: logits))
        }
        try s.finishRun(runId: side, predictions: preds, summary: summary)
        let basePreds = [PredictionRow(runId: base, idx: 0, label: 1, sidePred: nil, sideConf: nil, mainPred: 0,
                                       mainConf: 0.6, sideLogits: nil, mainLogits: [0.25])]
        var baseSummary = summary; baseSummary.testAccSide = nil; baseSummary.paramsSidenet = 0
        try s.finishRun(runId: base, predictions: basePreds, summary: baseSummary)

        let back = try s.predictions(runId: side)
        XCTAssertEqual(back, preds)
        XCTAssertEqual(try back[7].sideLogitValues()?.map { $0.bitPattern }, weird.map { $0.bitPattern })
        XCTAssertEqual(try back[3].mainLogitValues(), (0..<10).map { Float(3) * 0.37 - Float($0) * 1.1 })
        XCTAssertEqual(back[3].mainLogits.count, 40)
        XCTAssertEqual([UInt8](Logits.encode([1.0])), [0x00, 0x00, 0x80, 0x3f], "little-endian Float32")
        let b = try s.predictions(runId: base)
        XCTAssertEqual(b, basePreds)
        XCTAssertNil(b[0].sideLogits)
        XCTAssertNil(try s.run(id: base)?.testAccSide)
        XCTAssertThrowsError(try Logits.decode(Data([1, 2, 3])))
    }

    func testEpochRowsAndNaN() throws {
        let s = try open()
        let exp = try s.registerExperiment(name: "n", specJSON: "{}", specHash: "h")
        guard case .claimed(let run, _) = try claim(s, exp) else { return XCTFail() }
        var e = epoch(run, 1)
        e.valLossMain = .nan
        try s.commitEpoch(runId: run, epoch: e, checkpointPath: "c")
        let back = try s.epochs(runId: run)
        XCTAssertEqual(back.count, 1)
        XCTAssertNil(back[0].valLossMain, "SQLite stores NaN as NULL")
        XCTAssertEqual(back[0].trainLossSide, 2)
        XCTAssertEqual(back[0].lr, 3e-4)
        XCTAssertEqual(try s.lastCheckpoint(runId: run)?.path, "c")
    }

    func testIntegrityAfterSimulatedCrashAndResume() throws {
        let clock = FakeClock()
        var exp: Int64 = 0, run: Int64 = 0
        do {
            // a process of this machine that is gone (killed)
            let crashing = try open(clock: clock, process: try ProcessFixtures.deadProcess())
            exp = try crashing.registerExperiment(name: "crash", specJSON: "{}", specHash: "h")
            guard case .claimed(let r, nil) = try claim(crashing, exp) else { return XCTFail() }
            run = r
            for e in 1...3 { try crashing.commitEpoch(runId: run, epoch: epoch(run, e, loss: 1 / Double(e)), checkpointPath: "ck/\(e)") }
            // The pool is dropped here without finishRun / failRun: the process "died".
        }
        let reopened = try open(clock: clock)
        XCTAssertEqual(try reopened.integrityCheck(), ["ok"])
        XCTAssertEqual(try reopened.run(id: run)?.status, .running, "a crashed run stays 'running' until reclaimed")
        // its process is gone: taken over at once, without waiting for the heartbeat to age
        XCTAssertEqual(try claim(reopened, exp), .claimed(runId: run, resumeFromEpoch: 3))
        XCTAssertEqual(try reopened.lastCheckpoint(runId: run)?.path, "ck/3")
        XCTAssertEqual(try reopened.epochs(runId: run).map { $0.epoch }, [1, 2, 3])
        try reopened.commitEpoch(runId: run, epoch: epoch(run, 4), checkpointPath: "ck/4")
        try reopened.finishRun(runId: run, predictions: [], summary: summary)
        XCTAssertEqual(try reopened.integrityCheck(), ["ok"])
    }
}
