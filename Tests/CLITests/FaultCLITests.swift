import Foundation
import XCTest

/// Real faults on the real binary: `sidenet run` killed with SIGKILL or stopped with SIGTERM
/// mid-epoch and rerun at once, two processes on one database, a run whose loss goes
/// non-finite. Tiny generated data (NOT CIFAR-10): each test takes seconds.
final class FaultCLITests: XCTestCase {
    var scratch: CLIScratch!

    override func setUpWithError() throws {
        try SidenetBinary.requireBuilt()
        scratch = CLIScratch("fault")
        // 400 train (360 after the 40 validation images) and 40 test images of generated shapes
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "data", "--train", "400", "--test", "40",
                                    "--seed", "3"], cwd: scratch.dir))
    }

    override func tearDown() { scratch.cleanup() }

    /// A tiny ResNet spec on the generated data (full regime, batch 16).
    private func writeSpec(_ name: String, seeds: [Int] = [0], variants: [String] = ["sidenet", "baseline"],
                           epochs: Int, alpha: String = "1.0") throws -> String {
        try scratch.write("\(name).yaml", TinyResNetSpec(name: name, seeds: seeds, variants: variants,
                                                          epochs: epochs, alpha: alpha).yaml)
        return "\(name).yaml"
    }

    private let db = ["--db", "results/db.sqlite"]

    /// One run line of `sidenet list`.
    struct Listed: Equatable { var id: Int; var variant: String; var seed: Int; var status: String; var epochs: Int }

    private func list() throws -> (runs: [Listed], text: String) {
        let out = assertSucceeds(try sidenet(["list"] + db, cwd: scratch.dir))
        let runs = out.split(separator: "\n").compactMap { line -> Listed? in
            let f = line.split(separator: " ")
            guard line.hasPrefix("    "), f.count >= 5, let id = Int(f[0]), let seed = Int(f[2]), let ep = Int(f[4]) else { return nil }
            return Listed(id: id, variant: String(f[1]), seed: seed, status: String(f[3]), epochs: ep)
        }
        return (runs, out)
    }

    /// Starts `sidenet run SPEC` and waits until its log shows that epoch 1 of the first run was
    /// committed (the progress line is written after the epoch's store transaction): the process
    /// is then training epoch 2.
    private func startAndWaitForEpoch(_ spec: String, log: String) throws -> (Process, URL) {
        let (p, _, err) = try startSidenet(["run", spec] + db, cwd: scratch.dir, logName: log)
        let needle = "epoch 1/"
        let deadline = Date().addingTimeInterval(600)  // a guard against hanging, not a timing check
        while Date() < deadline {
            let text = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
            if text.split(separator: "\n").contains(where: { $0.contains(needle) && $0.contains("train loss") }) { return (p, err) }
            if !p.isRunning { break }
            usleep(10_000)
        }
        let text = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        if p.isRunning { p.terminate() }
        XCTFail("sidenet run did not report a committed epoch 1 while running; stderr:\n\(text)")
        throw XCTSkip("no epoch")
    }

    /// The rerun resumes the interrupted run, and every run ends finished exactly once with
    /// all its epochs; epoch 1 (committed before the fault) is kept, not recomputed.
    private func checkRerunResumes(_ spec: String, epochs: Int, epochOneBefore: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try sidenet(["run", spec] + db, cwd: scratch.dir)
        assertSucceeds(r, file: file, line: line)
        XCTAssertTrue(r.stderr.contains("resuming fault sidenet-seed0 after epoch"), "rerun must resume: \(r.stderr)",
                      file: file, line: line)
        XCTAssertFalse(r.stderr.contains("another process"), r.stderr, file: file, line: line)
        XCTAssertFalse(r.stderr.contains("resuming fault baseline"), "the baseline never started: \(r.stderr)",
                       file: file, line: line)
        let after = try list().runs
        XCTAssertEqual(after.map(\.variant).sorted(), ["baseline", "sidenet"], "one row per run", file: file, line: line)
        for run in after {
            XCTAssertEqual(run.status, "finished", "\(run)", file: file, line: line)
            XCTAssertEqual(run.epochs, epochs, "\(run)", file: file, line: line)
        }
        let show = assertSucceeds(try sidenet(["show", "1"] + db, cwd: scratch.dir), file: file, line: line)
        XCTAssertTrue(show.contains(epochOneBefore), "epoch 1 was recomputed:\n\(epochOneBefore)\n---\n\(show)",
                      file: file, line: line)
        // a third run has nothing left to do and says so
        let again = try sidenet(["run", spec] + db, cwd: scratch.dir)
        assertSucceeds(again, file: file, line: line)
        XCTAssertTrue(again.stderr.contains("0 finished now, 2 finished earlier"), again.stderr, file: file, line: line)
    }

    private func epochOneLine() throws -> String {
        let show = assertSucceeds(try sidenet(["show", "1"] + db, cwd: scratch.dir))
        return try XCTUnwrap(show.split(separator: "\n").first { $0.hasPrefix("1 ") }.map(String.init), show)
    }

    func testSIGKILLMidEpochThenRerunResumesAtOnce() throws {
        let spec = try writeSpec("fault", epochs: 4)
        let (p, err) = try startAndWaitForEpoch(spec, log: "killed")
        XCTAssertEqual(kill(p.processIdentifier, SIGKILL), 0)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        let (stranded, listing) = try list()
        XCTAssertEqual(stranded.map(\.status), ["running"], "the killed run is left 'running': \(stranded)")
        XCTAssertTrue(listing.contains("claimed by process \(p.processIdentifier) on "), listing)
        XCTAssertGreaterThanOrEqual(stranded.first?.epochs ?? 0, 1)
        try checkRerunResumes(spec, epochs: 4, epochOneBefore: try epochOneLine())
    }

    func testSIGTERMMarksInterruptedExits143AndRerunResumes() throws {
        let spec = try writeSpec("fault", epochs: 4)
        let (p, err) = try startAndWaitForEpoch(spec, log: "terminated")
        p.terminate()  // SIGTERM
        p.waitUntilExit()
        let stderr = try String(contentsOf: err, encoding: .utf8)
        XCTAssertEqual(p.terminationReason, .exit, "SIGTERM must be handled, not kill the process: \(stderr)")
        XCTAssertEqual(p.terminationStatus, 143, stderr)
        XCTAssertTrue(stderr.contains("SIGTERM: stopping after the current batch"), stderr)
        let (runs, text) = try list()
        XCTAssertEqual(runs.map(\.status), ["interrupted"], text)
        XCTAssertTrue(text.contains("stopped by SIGTERM; rerun to resume"), text)
        XCTAssertGreaterThanOrEqual(runs.first?.epochs ?? 0, 1)
        try checkRerunResumes(spec, epochs: 4, epochOneBefore: try epochOneLine())
    }

    func testSIGINTIsHandledTheSameWayWithExit130() throws {
        let spec = try writeSpec("fault", variants: ["sidenet"], epochs: 4)
        let (p, err) = try startAndWaitForEpoch(spec, log: "interrupted")
        p.interrupt()  // SIGINT, as Ctrl-C sends it
        p.waitUntilExit()
        let stderr = try String(contentsOf: err, encoding: .utf8)
        XCTAssertEqual(p.terminationReason, .exit, stderr)
        XCTAssertEqual(p.terminationStatus, 130, stderr)
        let (runs, text) = try list()
        XCTAssertEqual(runs.map(\.status), ["interrupted"], text)
        XCTAssertTrue(text.contains("stopped by the user (Ctrl-C); rerun to resume"), text)
    }

    func testTwoProcessesOnOneDatabaseClaimEachRunOnce() throws {
        let spec = try writeSpec("pair", seeds: [0, 1], epochs: 2)
        // both start together on a database that does not exist yet
        let procs = try (0..<2).map { i in try startSidenet(["run", spec] + db, cwd: scratch.dir, logName: "p\(i)") }
        var finishedBy: [String: Int] = [:]
        for (i, (p, out, err)) in procs.enumerated() {
            p.waitUntilExit()
            let stdout = try String(contentsOf: out, encoding: .utf8), stderr = try String(contentsOf: err, encoding: .utf8)
            XCTAssertEqual(p.terminationReason, .exit, stderr)
            // 0: it finished everything it tried; 75: the other process held some runs
            XCTAssertTrue([0, 75].contains(p.terminationStatus), "process \(i) exit \(p.terminationStatus): \(stderr)")
            XCTAssertFalse(stderr.lowercased().contains("locked"), stderr)
            XCTAssertFalse(stderr.contains("FAILED"), stderr)
            for line in stdout.split(separator: "\n") where line.hasPrefix("pair ") {
                let f = line.split(separator: " ")
                if f.count >= 4, f[3] == "finished" { finishedBy["\(f[1])/\(f[2])", default: 0] += 1 }
            }
            if p.terminationStatus == 75 {
                XCTAssertTrue(stderr.contains("held by another live process"), stderr)
            }
        }
        XCTAssertEqual(finishedBy, ["sidenet/0": 1, "baseline/0": 1, "sidenet/1": 1, "baseline/1": 1],
                       "each run is trained by exactly one process")
        let runs = try list().runs
        XCTAssertEqual(runs.count, 4)
        XCTAssertTrue(runs.allSatisfy { $0.status == "finished" && $0.epochs == 2 }, "\(runs)")
    }

    func testRunHeldByALiveProcessIsReportedWithExit75() throws {
        let spec = try writeSpec("fault", variants: ["sidenet"], epochs: 50)
        let (p, _) = try startAndWaitForEpoch(spec, log: "holder")
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        let r = try sidenet(["run", spec] + db, cwd: scratch.dir)
        XCTAssertFalse(r.signalled, r.stderr)
        XCTAssertEqual(r.status, 75, "nothing done because another live process holds the run: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("fault sidenet seed 0: running in process \(p.processIdentifier)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("1 held by another live process; exit 75"), r.stderr)
        XCTAssertTrue(p.isRunning, "the holder is untouched")
    }

    func testNonFiniteLossFailsOnlyThatRun() throws {
        // alpha 1e300 scales the SideNet's gradient to infinity: the sidenet run's loss turns
        // non-finite on its second batch; the baseline has no SideNet and trains normally.
        let bad = try writeSpec("nonfinite", variants: ["sidenet", "baseline"], epochs: 1, alpha: "1.0e300")
        let good = try writeSpec("healthy", variants: ["sidenet"], epochs: 1)
        let r = try sidenet(["run", bad, good] + db, cwd: scratch.dir)
        XCTAssertFalse(r.signalled, r.stderr)
        XCTAssertEqual(r.status, 1, "a failed run gives exit 1: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("nonfinite sidenet seed 0: FAILED: non-finite"), r.stderr)
        let (runs, text) = try list()
        XCTAssertEqual(runs.map { "\($0.variant) \($0.status)" }, ["baseline finished", "sidenet failed", "sidenet finished"],
                       text)
        XCTAssertTrue(text.contains("non-finite"), "the failed run keeps its reason: \(text)")
        XCTAssertTrue(r.stderr.contains("2 finished now, 0 finished earlier, 1 failed"), r.stderr)
    }
}
