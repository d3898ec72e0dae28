import Foundation
import XCTest

/// `sidenet report` success path on the shared run (tables and sweep CSVs written, gnuplot not
/// run) and a spec-file argument that does not exist. (The report's own contents are tested by
/// ReportTests and branch `report`'s CLI tests.)
final class ReportPathCLITests: XCTestCase {
    func testReportWritesTablesAndSweepsForTheSharedRun() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("report"); defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["report", "--db", f.database, "--out", "plots", "--tables", "tables", "--no-render",
                                              TinyCLI.resnetName], cwd: s.dir))
        XCTAssertTrue(out.contains("2 finished runs of 1 experiments") || out.contains("2 finished runs"), out)
        for file in ["tables/table2.md", "tables/table1.md", "tables/sweeps_\(TinyCLI.resnetName).csv"] {
            XCTAssertTrue(s.exists(file), "\(file) not written; stdout: \(out)")
        }
        let table2 = try String(contentsOfFile: s.path("tables/table2.md"), encoding: .utf8)
        XCTAssertTrue(table2.lowercased().contains("synthetic"), "generated data is labelled: \(table2)")
        let sweep = try String(contentsOfFile: s.path("tables/sweeps_\(TinyCLI.resnetName).csv"), encoding: .utf8)
        XCTAssertGreaterThan(sweep.split(separator: "\n").count, 2, "a header and threshold rows: \(sweep)")
        let gp = (try? FileManager.default.contentsOfDirectory(atPath: s.path("plots"))) ?? []
        XCTAssertTrue(gp.contains { $0.hasSuffix(".gp") }, "gnuplot scripts written: \(gp)")
        XCTAssertFalse(gp.contains { $0.hasSuffix(".png") }, "--no-render draws nothing: \(gp)")
    }

    func testMissingSpecArgumentFailsNamingIt() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("report-missing"); defer { s.cleanup() }
        let r = try sidenet(["report", "--db", f.database, "--out", "p", "--tables", "t", "--no-render", "not-here.yaml"], cwd: s.dir)
        assertRejected(r, mentions: ["not-here.yaml"])
    }
}
