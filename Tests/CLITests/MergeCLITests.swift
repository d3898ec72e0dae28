import Foundation
import XCTest

/// `sidenet run --shard K/N` into one database per shard, `sidenet merge` of those databases,
/// and `sidenet report` on the merged one. Tiny generated data (NOT CIFAR-10).
final class MergeCLITests: XCTestCase {
    var scratch: CLIScratch!

    override func setUpWithError() throws {
        try SidenetBinary.requireBuilt()
        scratch = CLIScratch("merge")
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "data", "--train", "200", "--test", "40",
                                    "--seed", "5"], cwd: scratch.dir))
        try scratch.write("tiny.yaml", TinyResNetSpec(name: "tiny", seeds: [0, 1]).yaml)
    }

    override func tearDown() { scratch.cleanup() }

    private func runShard(_ k: Int, of n: Int) throws -> CLIResult {
        try sidenet(["run", "tiny.yaml", "--shard", "\(k)/\(n)", "--db", "s\(k)/db.sqlite", "--results", "s\(k)",
                     "--threads", "1"], cwd: scratch.dir)
    }

    /// The run lines of `sidenet list --db DB`: "variant seed status".
    private func listed(_ db: String) throws -> [String] {
        let out = assertSucceeds(try sidenet(["list", "--db", db], cwd: scratch.dir))
        return out.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: " ")
            guard line.hasPrefix("    "), f.count >= 4, Int(f[0]) != nil else { return nil }
            return "\(f[1]) \(f[2]) \(f[3])"
        }.sorted()
    }

    func testShardsRunTheirShareMergeOnceAndReport() throws {
        // dry run: two disjoint halves, nothing done yet, no database created
        let plan1 = assertSucceeds(try sidenet(["run", "tiny.yaml", "--shard", "1/2", "--db", "s1/db.sqlite", "--dry-run"],
                                               cwd: scratch.dir))
        XCTAssertTrue(plan1.contains("shard 1/2: 2 units"), plan1)
        XCTAssertTrue(plan1.hasSuffix("pending: 2\n"), plan1)
        XCTAssertFalse(scratch.exists("s1/db.sqlite"), "--dry-run created the database")

        assertSucceeds(try runShard(1, of: 2))
        assertSucceeds(try runShard(2, of: 2))
        let one = try listed("s1/db.sqlite"), two = try listed("s2/db.sqlite")
        XCTAssertEqual(one.count, 2)
        XCTAssertEqual(two.count, 2)
        XCTAssertEqual(Set(one).intersection(two), [])
        let after = assertSucceeds(try sidenet(["run", "tiny.yaml", "--shard", "1/2", "--db", "s1/db.sqlite", "--dry-run"],
                                               cwd: scratch.dir))
        XCTAssertTrue(after.hasSuffix("pending: 0\n"), after)

        let merged = assertSucceeds(try sidenet(["merge", "s1/db.sqlite", "s2/db.sqlite", "--into", "all/db.sqlite"],
                                                cwd: scratch.dir))
        XCTAssertTrue(merged.contains("s1/db.sqlite: 1 experiments added, 2 runs added"), merged)
        XCTAssertTrue(merged.contains("s2/db.sqlite: 0 experiments added, 2 runs added"), merged)
        XCTAssertTrue(merged.contains("+ tiny sidenet seed"), merged)
        XCTAssertEqual(try listed("all/db.sqlite"), (one + two).sorted())
        XCTAssertTrue((one + two).allSatisfy { $0.hasSuffix(" finished") })

        let again = assertSucceeds(try sidenet(["merge", "s1/db.sqlite", "s2/db.sqlite", "--into", "all/db.sqlite"],
                                               cwd: scratch.dir))
        XCTAssertTrue(again.contains("nothing new"), again)
        XCTAssertTrue(again.contains("0 runs added, 0 replaced, 2 already present"), again)

        assertSucceeds(try sidenet(["report", "--db", "all/db.sqlite", "--out", "plots", "--tables", "tables",
                                    "--no-render", "tiny.yaml"], cwd: scratch.dir))
        let table2 = try String(contentsOfFile: scratch.path("tables/table2.md"), encoding: .utf8)
        XCTAssertTrue(table2.contains("tiny"), table2)
    }

    func testMergeRefusesMissingSourcesAndDifferentFinishedCopies() throws {
        assertFails(try sidenet(["merge", "nope.sqlite", "--into", "all.sqlite"], cwd: scratch.dir),
                    containing: "source database not found: nope.sqlite")
        XCTAssertFalse(scratch.exists("all.sqlite"))
        assertFails(try sidenet(["merge", "--into", "all.sqlite"], cwd: scratch.dir), containing: "Missing expected argument")

        // the same shard (same spec, same spec hash) on other generated images: finished runs whose
        // results differ, as when one shard was run twice on data that changed in between
        assertSucceeds(try runShard(1, of: 2))
        let other = scratch.dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: scratch.dir.appendingPathComponent("tiny.yaml"),
                                         to: other.appendingPathComponent("tiny.yaml"))
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "data", "--train", "200", "--test", "40",
                                    "--seed", "6"], cwd: other))
        assertSucceeds(try sidenet(["run", "tiny.yaml", "--shard", "1/2", "--db", "../copy/db.sqlite", "--results", "../copy",
                                    "--threads", "1"], cwd: other))
        let r = try sidenet(["merge", "s1/db.sqlite", "copy/db.sqlite", "--into", "all.sqlite"], cwd: scratch.dir)
        assertFails(r, containing: "refused: tiny baseline seed 0 finished in both s1/db.sqlite and copy/db.sqlite with different results")
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { !$0.isEmpty }.count, 1, "one line: \(r.stderr)")
        XCTAssertEqual(try listed("all.sqlite"), [], "a refused merge writes nothing")
    }

    func testBadShardIsAUsageError() throws {
        for bad in ["0/2", "3/2", "x", "1/0"] {
            let r = try sidenet(["run", "tiny.yaml", "--shard", bad, "--db", "x.sqlite"], cwd: scratch.dir)
            assertFails(r, containing: "--shard")
            XCTAssertTrue(r.stderr.contains("1-based"), r.stderr)
        }
        XCTAssertFalse(scratch.exists("x.sqlite"))
    }
}
