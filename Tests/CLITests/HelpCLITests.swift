import Foundation
import XCTest

/// Every command answers --help with its usage and exit 0; an unknown command fails cleanly.
final class HelpCLITests: XCTestCase {
    func testEveryCommandHasHelp() throws {
        let scratch = CLIScratch("help"); defer { scratch.cleanup() }
        let root = assertSucceeds(try sidenet(["--help"], cwd: scratch.dir))
        XCTAssertTrue(root.contains("SUBCOMMANDS"), root)
        // The subcommand names the root help lists (first word of each indented line).
        let section = root.components(separatedBy: "SUBCOMMANDS:").last ?? ""
        let names = section.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("  "), let w = t.split(separator: " ").first, !w.hasPrefix("-") else { return nil }
            return String(w)
        }.filter { $0 != "help" }
        XCTAssertGreaterThanOrEqual(names.count, 10, "subcommands found: \(names)")
        for name in names {
            let out = assertSucceeds(try sidenet([name, "--help"], cwd: scratch.dir))
            XCTAssertTrue(out.contains("USAGE"), "\(name) --help: \(out)")
        }
    }

    func testUnknownCommandFails() throws {
        let scratch = CLIScratch("unknown"); defer { scratch.cleanup() }
        let r = try sidenet(["frobnicate"], cwd: scratch.dir)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertFalse(r.signalled)
    }
}
