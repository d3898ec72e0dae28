import Foundation
import XCTest

/// The database options of the real binary: read-only commands never create anything, and
/// `run` says what it did not do (unknown seeds and variants) with a non-zero exit.
final class RunStoreCLITests: XCTestCase {
    var scratch: CLIScratch!

    override func setUpWithError() throws {
        try SidenetBinary.requireBuilt()
        scratch = CLIScratch("runstore")
    }
    override func tearDown() { scratch.cleanup() }

    func testReadOnlyCommandsOnAMissingDatabaseCreateNothing() throws {
        let missing = scratch.path("missing/dir/x.sqlite")
        for args in [["list"], ["show", "1"], ["report", "--out", scratch.path("plots"), "--tables", scratch.path("tables")]] {
            let r = try sidenet(args + ["--db", missing], cwd: scratch.dir)
            assertFails(r, containing: "no database at \(missing)")
            XCTAssertEqual(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1,
                           "one line: \(r.stderr)")
            XCTAssertFalse(scratch.exists("missing"), "\(args[0]) created directories")
        }
    }

    func testRunRefusesSeedsAndVariantsNoSpecHas() throws {
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "data", "--train", "60", "--test", "20"], cwd: scratch.dir))
        for (file, name, seeds) in [("s.yaml", "sel", "0, 1"), ("t.yaml", "sel7", "7")] {
            try scratch.write(file, """
            name: \(name)
            seeds: [\(seeds)]
            variants: [sidenet]
            data: {dataset: cifar10, path: data, synthetic: true, validation: 20, input_size: 32, normalize: imagenet}
            mainnet: {arch: resnet, config: {blocks: [1, 1, 1, 1], width: 4, block: basic}, weights: null, head: {hidden: 8}}
            sidenet: {attach: layer1, hidden: 8}
            training: {regime: full, optimizer: {name: adam, lr: 1.0e-3}, epochs: 1, batch_size: 16, plateau: {factor: 0.5, patience: 5}}
            evaluation: {batch_size: 64}
            """)
        }
        let db = ["--db", "results/db.sqlite"]
        assertFails(try sidenet(["run", "s.yaml", "--seeds", "7"] + db, cwd: scratch.dir), containing: "no spec has seed 7")
        assertFails(try sidenet(["run", "s.yaml", "--seeds", "1,7"] + db, cwd: scratch.dir), containing: "no spec has seed 7")
        assertFails(try sidenet(["run", "s.yaml", "--variant", "baseline"] + db, cwd: scratch.dir),
                    containing: "--variant baseline: no spec has this variant")
        XCTAssertFalse(scratch.exists("results/db.sqlite"), "nothing may run or be created")
        // seed 7 is one spec's: it runs there, and the other spec says it has none
        let r = try sidenet(["run", "s.yaml", "t.yaml", "--seeds", "7"] + db, cwd: scratch.dir)
        assertSucceeds(r)
        XCTAssertTrue(r.stderr.contains("sel: the spec has no seed 7"), r.stderr)
        XCTAssertTrue(r.stderr.contains("runs: 1 finished now, 0 finished earlier"), r.stderr)
    }
}
