import Foundation
import XCTest

/// `sidenet list` and `sidenet show` on the shared fixture's database; a missing database, an
/// unknown run and a file that is not a database.
final class ListShowCLITests: XCTestCase {
    func testListShowsTheExperimentAndItsFinishedRuns() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("list"); defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["list", "--db", f.database], cwd: s.dir))
        XCTAssertTrue(out.contains(TinyCLI.resnetName), out)
        // run rows: id, variant, seed, status, epochs, best epoch, main %, side %
        let runRows = listedRuns(out).filter { $0.count >= 7 }
        XCTAssertEqual(runRows.count, 2, out)
        for r in runRows {
            XCTAssertEqual(r[2], "0", "seed: \(r)")
            XCTAssertEqual(r[3], "finished", "\(r)")
            XCTAssertEqual(r[4], "1", "one epoch: \(r)")
            XCTAssertEqual(r[5], "1", "best epoch: \(r)")
        }
        let side = try XCTUnwrap(runRows.first { $0[1] == "sidenet" })
        XCTAssertNotNil(Double(side.count > 7 ? side[7] : ""), "the sidenet run has a SideNet accuracy: \(side)")
        let base = try XCTUnwrap(runRows.first { $0[1] == "baseline" })
        XCTAssertEqual(base.count > 7 ? base[7] : "-", "-", "the baseline has no SideNet accuracy: \(base)")
    }

    /// list opens the database read-only: a missing one is named and not created.
    func testListOnMissingDatabaseFailsNamingIt() throws {
        let s = CLIScratch("list-missing"); defer { s.cleanup() }
        assertRejected(try sidenet(["list", "--db", "absent.sqlite"], cwd: s.dir), mentions: ["absent.sqlite"])
        XCTAssertFalse(s.exists("absent.sqlite"))
    }

    /// A file that is not SQLite: a clean error, not a crash.
    func testListOnNonDatabaseFileFails() throws {
        let s = CLIScratch("list-bad"); defer { s.cleanup() }
        try s.write("notes.sqlite", String(repeating: "this is not a database\n", count: 200))
        let r = try sidenet(["list", "--db", "notes.sqlite"], cwd: s.dir)
        assertRejected(r)
    }

    func testShowPrintsSettingsEpochsAndSpec() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("show"); defer { s.cleanup() }
        let list = assertSucceeds(try sidenet(["list", "--db", f.database], cwd: s.dir))
        let sideRow = try XCTUnwrap(listedRuns(list).first { $0[1] == "sidenet" }, list)
        let out = assertSucceeds(try sidenet(["show", sideRow[0], "--db", f.database], cwd: s.dir))
        XCTAssertTrue(out.contains("run \(sideRow[0]): \(TinyCLI.resnetName) sidenet seed 0, finished"), out)
        XCTAssertTrue(out.contains("regime full"), out)
        let params = try XCTUnwrap(firstLine(out, startingWith: "parameters:"), out)
        XCTAssertTrue(params.contains("prefix ") && params.contains("SideNet ") && params.contains("MainNet "), params)
        let epochRows = outputRows(out, startingWith: ["1"])
        XCTAssertEqual(epochRows.count, 1, "one epoch row: \(out)")
        XCTAssertEqual(epochRows.first?.count, 9, "epoch, 4 losses, 2 accuracies, lr, seconds: \(epochRows)")
        XCTAssertEqual(Double(epochRows.first?[7] ?? ""), 0.001, "lr column")
        XCTAssertTrue(out.contains("\"name\""), "the canonical spec JSON: \(out)")
    }

    func testShowUnknownRunFails() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("show-unknown"); defer { s.cleanup() }
        assertRejected(try sidenet(["show", "987654", "--db", f.database], cwd: s.dir), mentions: ["987654"])
        assertRejected(try sidenet(["show", "one", "--db", f.database], cwd: s.dir), mentions: ["one"])
    }
}
