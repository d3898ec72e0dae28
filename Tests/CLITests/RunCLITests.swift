import Foundation
import XCTest

/// `sidenet run`: trains a tiny spec end to end as a subprocess; the --seeds / --variant
/// filters; skipping finished runs; a missing spec file, a bad option and missing data fail
/// cleanly with the file or option named.
final class RunCLITests: XCTestCase {
    /// The shared fixture's run: every (variant, seed) finished and their files exist.
    func testRunTrainsEveryVariantAndWritesDatabaseAndCheckpoints() throws {
        let f = try TinyCLI.fixture()
        let finished = outputRows(f.runOutput, startingWith: [TinyCLI.resnetName])
        XCTAssertEqual(finished.count, 2, "one row per (variant, seed): \(f.runOutput)")
        for r in finished {
            XCTAssertEqual(r.count >= 4 ? r[3] : "", "finished", "\(r)")
            // test accuracy column: a percentage in [0, 100]
            let main = Double(r.count >= 5 ? r[4] : "") ?? -1
            XCTAssertTrue((0...100).contains(main), "main % column: \(r)")
        }
        XCTAssertEqual(Set(finished.map { $0[1] }), ["sidenet", "baseline"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: f.database))
        let ckpts = f.checkpoints().map { ($0 as NSString).lastPathComponent }
        XCTAssertTrue(ckpts.contains("sidenet-seed0-epoch1.safetensors"), "\(ckpts)")
        XCTAssertTrue(ckpts.contains("baseline-seed0-best-epoch1.safetensors"), "\(ckpts)")
    }

    /// --seeds and --variant select runs; a rerun skips what finished and adds no run.
    func testSeedAndVariantFiltersAndSkipOnRerun() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("run-filter"); defer { s.cleanup() }
        try s.write("two-seeds.yaml", TinyCLI.resnetYAML(name: "cli-filter", cifarPath: f.cifar, seeds: [0, 1]))
        let args = ["run", "two-seeds.yaml", "--db", "db.sqlite", "--results", "res", "--threads", "2"]
        let out = assertSucceeds(try sidenet(args + ["--seeds", "1", "--variant", "baseline"], cwd: s.dir))
        let ran = outputRows(out, startingWith: ["cli-filter"])
        XCTAssertEqual(ran.map { Array($0.prefix(4)) }, [["cli-filter", "baseline", "1", "finished"]], out)

        let list = assertSucceeds(try sidenet(["list", "--db", "db.sqlite"], cwd: s.dir))
        let listed = list.split(separator: "\n").filter { $0.contains("baseline") || $0.contains("sidenet ") }
        XCTAssertEqual(listed.count, 1, "only the selected run exists: \(list)")

        // the same selection again: skipped, nothing trained, still one run
        let again = try sidenet(args + ["--seeds", "1", "--variant", "baseline"], cwd: s.dir)
        XCTAssertFalse(again.signalled, again.stderr)
        let rerun = outputRows(again.stdout, startingWith: ["cli-filter", "baseline", "1"])
        XCTAssertEqual(rerun.first?[3], "skipped", again.stdout)
        XCTAssertFalse(again.stdout.contains("finished"), again.stdout)
        let list2 = assertSucceeds(try sidenet(["list", "--db", "db.sqlite"], cwd: s.dir))
        XCTAssertEqual(list2.split(separator: "\n").filter { $0.contains("baseline") }.count, 1, list2)
    }

    func testMissingSpecFileFailsNamingIt() throws {
        let s = CLIScratch("run-missing"); defer { s.cleanup() }
        let r = try sidenet(["run", "no-such-spec.yaml", "--db", "db.sqlite"], cwd: s.dir)
        assertRejected(r, mentions: ["no-such-spec.yaml"])
    }

    func testBadVariantAndSeedsOptionsFail() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("run-badopt"); defer { s.cleanup() }
        assertRejected(try sidenet(["run", f.resnetSpec, "--variant", "sidecar", "--db", "db.sqlite"], cwd: s.dir),
                           mentions: ["sidecar"])
        assertRejected(try sidenet(["run", f.resnetSpec, "--seeds", "1,x", "--db", "db.sqlite"], cwd: s.dir),
                           mentions: ["1,x"])
        XCTAssertFalse(s.exists("db.sqlite"), "a rejected command must not create the database")
    }

    /// Data missing at run time: the run fails, exit non-zero, the reason names the data path.
    func testMissingDataFailsTheRunWithItsPath() throws {
        let s = CLIScratch("run-nodata"); defer { s.cleanup() }
        try s.write("nodata.yaml", TinyCLI.resnetYAML(name: "cli-nodata", cifarPath: "absent-cifar-dir", variants: "[baseline]"))
        let r = try sidenet(["run", "nodata.yaml", "--db", "db.sqlite", "--results", "res"], cwd: s.dir)
        XCTAssertFalse(r.signalled, r.stderr)
        XCTAssertNotEqual(r.status, 0, r.stdout)
        XCTAssertTrue((r.stdout + r.stderr).contains("absent-cifar-dir"), "the reason names the data path: \(r.stdout) \(r.stderr)")
        XCTAssertFalse(outputRows(r.stdout, startingWith: ["cli-nodata"]).contains { $0.count > 3 && $0[3] == "finished" }, r.stdout)
    }
}
