import Foundation
import XCTest
import Store

/// Claim owners that are not this process.
enum ProcessFixtures {
    /// A process of this machine that has exited (a child that ran /bin/true and was reaped).
    static func deadProcess() throws -> ClaimOwner {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        let started = ClaimOwner.startTime(pid: p.processIdentifier)
        p.waitUntilExit()
        var me = ClaimOwner.current()
        me.pid = p.processIdentifier
        me.started = started ?? 1
        return me
    }

    /// A process on another machine (its pid means nothing here).
    static func otherMachine() -> ClaimOwner {
        ClaimOwner(host: "other-node", machine: "00000000-0000-0000-0000-000000000000/pid:[1]",
                   pid: ProcessInfo.processInfo.processIdentifier, started: 1)
    }
}

/// Claims know their process: on the same machine a claim of a process that is gone is taken
/// over at once, a live one never; another machine's claim waits for a stale heartbeat.
final class ClaimOwnerTests: XCTestCase {
    var dir: URL!
    let clock = FakeClock()

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("claims-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func open(_ process: ClaimOwner = .current(), staleAfter: TimeInterval = 300) throws -> ResultStore {
        let clock = self.clock
        return try ResultStore(path: dir.appendingPathComponent("c.sqlite").path, staleAfter: staleAfter,
                               clock: { clock.get() }, process: process)
    }

    private func claim(_ s: ResultStore, _ exp: Int64) throws -> ClaimResult {
        try s.claimRun(experimentId: exp, variant: .sidenet, seed: 0, host: "h", threads: 1, gitCommit: nil, regime: "full")
    }

    func testCurrentProcessIdentity() throws {
        let me = ClaimOwner.current()
        XCTAssertEqual(me.pid, ProcessInfo.processInfo.processIdentifier)
        XCTAssertNotNil(me.started, "/proc/self/stat field 22")
        XCTAssertFalse(me.machine.isEmpty, "boot id and pid namespace")
        XCTAssertEqual(me.isAlive(seenFrom: me), true)
        XCTAssertEqual(try ProcessFixtures.deadProcess().isAlive(seenFrom: me), false)
        var reused = me
        reused.started = me.started! + 1  // same pid, another start time: the pid was reused
        XCTAssertEqual(reused.isAlive(seenFrom: me), false)
        XCTAssertNil(ProcessFixtures.otherMachine().isAlive(seenFrom: me), "another machine's pid cannot be checked")
    }

    func testClaimRecordsTheProcess() throws {
        let s = try open()
        let exp = try s.registerExperiment(name: "e", specJSON: "{}", specHash: "h")
        guard case .claimed(let run, nil) = try claim(s, exp) else { return XCTFail("claim") }
        let row = try XCTUnwrap(try s.run(id: run))
        XCTAssertEqual(row.claimOwner, ClaimOwner.current())
        XCTAssertEqual(row.ownerPid, Int64(ProcessInfo.processInfo.processIdentifier))
    }

    func testDeadProcessOnThisMachineIsTakenOverAtOnce() throws {
        let dead = try open(try ProcessFixtures.deadProcess())
        let exp = try dead.registerExperiment(name: "e", specJSON: "{}", specHash: "h")
        guard case .claimed(let run, nil) = try claim(dead, exp) else { return XCTFail("claim") }
        try dead.commitEpoch(runId: run, epoch: EpochRow(runId: run, epoch: 1, trainLossMain: 1, trainLossSide: nil,
                                                          valLossMain: 1, valLossSide: nil, valAccMain: 0.5,
                                                          valAccSide: nil, lr: 1e-3, seconds: 1), checkpointPath: "ck1")
        // the heartbeat is fresh (no time passed) but the process is gone
        let me = try open()
        XCTAssertEqual(try claim(me, exp), .claimed(runId: run, resumeFromEpoch: 1))
        XCTAssertEqual(try me.run(id: run)?.claimOwner, ClaimOwner.current())
        XCTAssertEqual(try me.run(id: run)?.attempts, 2)
    }

    func testReusedPidIsTakenOverAtOnce() throws {
        var reused = ClaimOwner.current()
        reused.started = (reused.started ?? 0) + 1
        let old = try open(reused)
        let exp = try old.registerExperiment(name: "e", specJSON: "{}", specHash: "h")
        guard case .claimed(let run, nil) = try claim(old, exp) else { return XCTFail("claim") }
        XCTAssertEqual(try claim(try open(), exp), .claimed(runId: run, resumeFromEpoch: nil))
    }

    func testLiveProcessOnThisMachineIsNeverTakenOver() throws {
        let holder = try open()
        let exp = try holder.registerExperiment(name: "e", specJSON: "{}", specHash: "h")
        guard case .claimed(let run, nil) = try claim(holder, exp) else { return XCTFail("claim") }
        clock.advance(3600)  // a long feature pass without heartbeat: the process still runs
        XCTAssertEqual(try claim(try open(), exp), .skipRunning(runId: run))
        XCTAssertNoThrow(try holder.heartbeat(runId: run), "the holder keeps its claim")
    }

    func testOtherMachineWaitsForStaleHeartbeat() throws {
        let remote = try open(ProcessFixtures.otherMachine(), staleAfter: 300)
        let exp = try remote.registerExperiment(name: "e", specJSON: "{}", specHash: "h")
        guard case .claimed(let run, nil) = try claim(remote, exp) else { return XCTFail("claim") }
        let me = try open(staleAfter: 300)
        clock.advance(299)
        XCTAssertEqual(try claim(me, exp), .skipRunning(runId: run))
        clock.advance(2)
        XCTAssertEqual(try claim(me, exp), .claimed(runId: run, resumeFromEpoch: nil))
        XCTAssertThrowsError(try remote.heartbeat(runId: run), "the old holder notices the takeover")
    }
}
