import Foundation
import XCTest

/// `sidenet plan` and `sidenet pretrain` end to end.
final class PlanCLITests: XCTestCase {
    private func tinySpec(name: String, dataPath: String, regime: String = "full", variants: String = "[sidenet, baseline]",
                          seeds: String = "[0, 1]", epochs: Int = 3) -> String {
        """
        name: \(name)
        seeds: \(seeds)
        variants: \(variants)
        data: {dataset: cifar10, path: \(dataPath), synthetic: true, validation: 10, input_size: 32}
        mainnet:
          arch: resnet
          config: {blocks: [1, 1, 1, 1], width: 4, block: basic}
          weights: null
          head: {hidden: 8}
        sidenet: {attach: layer1, hidden: 8}
        training:
          regime: \(regime)
          optimizer: {name: adam, lr: 1.0e-3}
          epochs: \(epochs)
          batch_size: 8
        evaluation: {batch_size: 16}
        """
    }

    func testPlanPrintsRunsExamplesHoursAndWallTime() throws {
        let s = CLIScratch("plan"); defer { s.cleanup() }
        try s.write("a.yaml", tinySpec(name: "tiny-a", dataPath: "data/absent"))
        try s.write("b.yaml", tinySpec(name: "tiny-b", dataPath: "data/absent", regime: "heads", seeds: "[0]"))
        let out = assertSucceeds(try sidenet(["plan", "a.yaml", "b.yaml", "--steps", "1", "--machines", "1,4", "--threads", "1"], cwd: s.dir))
        // data absent: CIFAR-10's documented sizes (50,000 - 10 validation training images)
        XCTAssertTrue(out.contains("tiny-a"), out)
        XCTAssertTrue(out.contains("data absent"), out)
        XCTAssertTrue(out.contains("49990 x 3"), out)
        XCTAssertTrue(out.contains("feature pass"), "the frozen spec reports its feature pass: \(out)")
        XCTAssertTrue(out.contains("wall h, 4 machines"), out)
        XCTAssertTrue(out.contains("wall time on 4 machines of this speed"), out)
        let total = out.split(separator: "\n").first { $0.hasPrefix("total") }
        XCTAssertNotNil(total, out)
        XCTAssertTrue(total?.contains(" 6 ") ?? false, "4 + 2 runs: \(total ?? "")")
    }

    func testPlanUsesTheDataWhenPresent() throws {
        let s = CLIScratch("plan-data"); defer { s.cleanup() }
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "data/c", "--train", "60", "--test", "20"], cwd: s.dir))
        try s.write("a.yaml", tinySpec(name: "tiny-a", dataPath: "data/c"))
        let out = assertSucceeds(try sidenet(["plan", "a.yaml", "--steps", "1", "--threads", "1"], cwd: s.dir))
        XCTAssertTrue(out.contains("data found"), out)
        XCTAssertTrue(out.contains("50 x 3"), "60 training images minus 10 for validation: \(out)")
    }

    func testPlanBudgetAndBadArguments() throws {
        let s = CLIScratch("plan-bad"); defer { s.cleanup() }
        try s.write("a.yaml", tinySpec(name: "tiny-a", dataPath: "data/absent"))
        let over = try sidenet(["plan", "a.yaml", "--steps", "1", "--threads", "1", "--budget-hours", "0.0000001"], cwd: s.dir)
        XCTAssertEqual(over.status, 3, over.stderr)
        XCTAssertTrue(over.stderr.contains("exceeds the budget"), over.stderr)
        XCTAssertTrue(over.stdout.contains("hours here"), "the plan is printed before the refusal: \(over.stdout)")
        assertFails(try sidenet(["plan", "missing.yaml"], cwd: s.dir), containing: "spec file not found: missing.yaml")
        assertFails(try sidenet(["plan", "a.yaml", "--machines", "0"], cwd: s.dir), containing: "--machines")
        assertFails(try sidenet(["plan", "a.yaml", "--steps", "0"], cwd: s.dir), containing: "--steps")
    }

    func testPretrainWritesOnceThenReuses() throws {
        let s = CLIScratch("pretrain"); defer { s.cleanup() }
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "data/c", "--train", "60", "--test", "20"], cwd: s.dir))
        try s.write("pre.yaml", tinySpec(name: "pre-tiny", dataPath: "data/c", variants: "[baseline]", seeds: "[0]", epochs: 1))
        let args = ["pretrain", "pre.yaml", "--out-dir", "weights", "--db", "pre.sqlite", "--results", "res", "--threads", "1"]
        let first = assertSucceeds(try sidenet(args, cwd: s.dir))
        XCTAssertTrue(first.contains("pre-tiny: pretrained, wrote weights/pre-tiny.safetensors"), first)
        XCTAssertTrue(s.exists("weights/pre-tiny.safetensors"))
        let inspect = assertSucceeds(try sidenet(["inspect", "weights/pre-tiny.safetensors"], cwd: s.dir))
        XCTAssertTrue(inspect.contains("conv1.weight"), inspect)
        XCTAssertFalse(inspect.contains("head.fc1"), inspect)
        let second = assertSucceeds(try sidenet(args, cwd: s.dir))
        XCTAssertTrue(second.contains("pre-tiny: reused weights/pre-tiny.safetensors"), second)
    }

    func testPretrainRefusesASpecWithASideNetVariantOnly() throws {
        let s = CLIScratch("pretrain-bad"); defer { s.cleanup() }
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "data/c", "--train", "60", "--test", "20"], cwd: s.dir))
        try s.write("pre.yaml", tinySpec(name: "pre-bad", dataPath: "data/c", variants: "[sidenet]", seeds: "[0]", epochs: 1))
        assertFails(try sidenet(["pretrain", "pre.yaml", "--out-dir", "w", "--db", "p.sqlite"], cwd: s.dir),
                    containing: "regime full and variant baseline")
        assertFails(try sidenet(["pretrain", "nope.yaml"], cwd: s.dir), containing: "spec file not found: nope.yaml")
    }
}
