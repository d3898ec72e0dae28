import Foundation
import XCTest

/// `sidenet check`: specs whose files exist pass; missing data or vocabulary is listed with its
/// path and exit 1; an invalid spec is rejected naming the file and key.
final class CheckCLITests: XCTestCase {
    func testSpecsWithTheirFilesInPlacePass() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("check"); defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["check", f.resnetSpec, f.bertSpec], cwd: s.dir))
        XCTAssertTrue(out.contains("\(TinyCLI.resnetName): all files in place"), out)
        XCTAssertTrue(out.contains("\(TinyCLI.bertName): all files in place"), out)
        XCTAssertFalse(out.contains("missing"), out)
    }

    func testMissingDataIsListedWithItsPath() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("check-missing"); defer { s.cleanup() }
        try s.write("gone.yaml", TinyCLI.resnetYAML(name: "cli-gone", cifarPath: "no-cifar-here"))
        let r = try sidenet(["check", "gone.yaml", f.bertSpec], cwd: s.dir)
        XCTAssertFalse(r.signalled, r.stderr)
        XCTAssertNotEqual(r.status, 0, "missing files must fail the check: \(r.stdout)")
        let text = r.stdout + r.stderr
        XCTAssertTrue(text.contains("no-cifar-here"), "the missing path is named: \(text)")
        XCTAssertTrue(text.contains("cifar-10") || text.contains("toronto"), "where to get it: \(text)")
        XCTAssertTrue(r.stdout.contains("\(TinyCLI.bertName): all files in place"), "the other spec is still checked: \(r.stdout)")
    }

    func testInvalidSpecIsRejectedNamingFileAndKey() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("check-invalid"); defer { s.cleanup() }
        let yaml = TinyCLI.resnetYAML(name: "cli-bad", cifarPath: f.cifar).replacingOccurrences(of: "lr: 1.0e-3", with: "lr: -2")
        try s.write("bad-lr.yaml", yaml)
        assertRejected(try sidenet(["check", "bad-lr.yaml"], cwd: s.dir), mentions: ["bad-lr.yaml", "lr"])
        assertRejected(try sidenet(["check", "absent.yaml"], cwd: s.dir), mentions: ["absent.yaml"])
    }
}
