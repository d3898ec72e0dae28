import Foundation
import XCTest

/// `sidenet choose` and `sidenet measure` end to end on a tiny generated (synthetic stand-in)
/// CIFAR-format data set: success paths (text, JSON, stored timings, report section) and
/// one-line failures.
final class ChooseCLITests: XCTestCase {
    static let spec = TinyResNetSpec(name: "tiny-choose", variants: ["sidenet"], dataPath: "cifar", validation: 60,
                                     lr: "3.0e-3", epochs: 2, evaluationBatch: 32).yaml

    /// A scratch folder with generated data, the spec, and one finished run in r/s.sqlite.
    func trained() throws -> CLIScratch {
        let s = CLIScratch("choose")
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "cifar", "--train", "160", "--test", "50", "--seed", "2"], cwd: s.dir))
        try s.write("tiny.yaml", Self.spec)
        assertSucceeds(try sidenet(["run", "--db", "r/s.sqlite", "tiny.yaml"], cwd: s.dir))
        return s
    }

    func testChooseTextJSONAndFailures() throws {
        let s = try trained()
        defer { s.cleanup() }
        let text = assertSucceeds(try sidenet(["choose", "tiny-choose", "--db", "r/s.sqlite", "--max-accuracy-drop", "30",
                                               "--method", "ltt", "--delta", "0.2"], cwd: s.dir))
        XCTAssertTrue(text.contains("synthetic stand-in data"), text)
        XCTAssertTrue(text.contains("θ = "), text)
        XCTAssertTrue(text.contains("validation") && text.contains("test"), text)
        for method in ["naive", "ltt"] {
            for rule in ["maxsoftmax", "entropy", "margin"] {
                let out = assertSucceeds(try sidenet(["choose", "tiny-choose", "--db", "r/s.sqlite", "--max-accuracy-drop", "5",
                                                      "--method", method, "--rule", rule, "--json"], cwd: s.dir))
                let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)
                XCTAssertEqual(obj["method"] as? String, method)
                XCTAssertEqual(obj["rule"] as? String, rule)
                XCTAssertEqual(obj["delta"] as? Double, 0.1)
                XCTAssertNotNil(obj["theta"], "theta present (null when none)")
                for split in ["val", "test"] {
                    let m = try XCTUnwrap(obj[split] as? [String: Any], "\(split) in \(out)")
                    for key in ["accuracy_pct", "mainnet_accuracy_pct", "exit_rate", "params_per_input", "flops_per_input"] {
                        XCTAssertNotNil(m[key] as? Double, "\(split).\(key) in \(out)")
                    }
                    XCTAssertEqual(m["inputs"] as? Int, split == "val" ? 60 : 50)
                    if method == "naive", obj["theta"] is Double, split == "val" {
                        // naive keeps the validation drop within the target
                        XCTAssertLessThanOrEqual((m["mainnet_accuracy_pct"] as! Double) - (m["accuracy_pct"] as! Double), 5 + 1e-9)
                    }
                }
            }
        }
        let budget = assertSucceeds(try sidenet(["choose", "tiny-choose", "--db", "r/s.sqlite", "--max-params-per-input", "1e9",
                                                 "--json"], cwd: s.dir))
        XCTAssertTrue(budget.contains("\"max_params_per_input\""), budget)

        assertFails(try sidenet(["choose", "nope", "--db", "r/s.sqlite", "--max-accuracy-drop", "1"], cwd: s.dir),
                    containing: "experiment nope is not in r/s.sqlite")
        assertFails(try sidenet(["choose", "tiny-choose", "--db", "missing.sqlite", "--max-accuracy-drop", "1"], cwd: s.dir),
                    containing: "database not found: missing.sqlite")
        XCTAssertFalse(s.exists("missing.sqlite"), "choose must not create a database")
        assertFails(try sidenet(["choose", "tiny-choose", "--db", "r/s.sqlite"], cwd: s.dir),
                    containing: "give exactly one of --max-accuracy-drop and --max-params-per-input")
        assertFails(try sidenet(["choose", "tiny-choose", "--db", "r/s.sqlite", "--max-accuracy-drop", "1", "--rule", "vote"], cwd: s.dir),
                    containing: "--rule must be one of maxsoftmax, entropy, margin")
        assertFails(try sidenet(["choose", "tiny-choose", "--db", "r/s.sqlite", "--max-accuracy-drop", "1", "--delta", "0"], cwd: s.dir),
                    containing: "--delta must be strictly between 0 and 1")
        assertFails(try sidenet(["choose", "tiny-choose", "--db", "r/s.sqlite", "--max-accuracy-drop", "1", "--seed", "7"], cwd: s.dir),
                    containing: "no finished sidenet run with seed 7")
    }

    func testMeasureStoresTimingsThatTheReportReads() throws {
        let s = try trained()
        defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["measure", "tiny-choose", "--db", "r/s.sqlite", "--thetas", "0.5", "0.9",
                                              "--repeats", "1"], cwd: s.dir))
        XCTAssertTrue(out.contains("stored"), out)
        XCTAssertTrue(out.contains("0.50") && out.contains("0.90"), out)
        let report = assertSucceeds(try sidenet(["report", "--db", "r/s.sqlite", "--no-render", "--out", "plots", "--tables", "res",
                                                 "tiny-choose"], cwd: s.dir))
        XCTAssertTrue(report.contains("choose.md"), report)
        let md = try String(contentsOfFile: s.path("res/choose.md"), encoding: .utf8)
        XCTAssertTrue(md.contains("| tiny-choose (synthetic) | 0 | maxsoftmax | 0.5 |"), md)
        XCTAssertTrue(md.contains("| tiny-choose (synthetic) | 0 | maxsoftmax | 0.9 |"), md)
        XCTAssertTrue(md.contains("Re-split check"), md)
        for f in ["res/choose_theta.csv", "res/choose_resplit.csv", "res/diagnostics.csv", "res/timings.csv",
                  "res/perclass_tiny-choose.csv", "res/sweeps_tiny-choose_rule_entropy.csv", "res/sweeps_tiny-choose_rule_margin.csv",
                  "plots/rules_tiny-choose.gp", "plots/perclass_tiny-choose.gp", "plots/figure2_seconds.gp"] {
            XCTAssertTrue(s.exists(f), "\(f) written")
        }
        let resplit = try String(contentsOfFile: s.path("res/choose_resplit.csv"), encoding: .utf8)
        XCTAssertEqual(resplit.split(separator: "\n").count, 1 + 3 * 2, resplit)

        assertFails(try sidenet(["measure", "nope", "--db", "r/s.sqlite"], cwd: s.dir), containing: "experiment nope is not in r/s.sqlite")
        assertFails(try sidenet(["measure", "tiny-choose", "--db", "r/s.sqlite", "--thetas", "1.5"], cwd: s.dir),
                    containing: "--thetas must lie in [0, 1]")
        try FileManager.default.removeItem(at: s.dir.appendingPathComponent("results/checkpoints"))
        assertFails(try sidenet(["measure", "tiny-choose", "--db", "r/s.sqlite"], cwd: s.dir), containing: "best checkpoint not found")
    }
}
