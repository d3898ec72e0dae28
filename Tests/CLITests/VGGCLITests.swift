import Foundation
import XCTest

/// VGG through the family registry alone: `sidenet model vgg16_bn` against torchvision's
/// published total, and `sidenet run` on a tiny VGG spec (generated stand-in CIFAR data).
final class VGGCLITests: XCTestCase {
    private func params(_ out: String, _ name: String) -> Int? {
        guard let row = out.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
        return row.dropFirst(44).split(separator: " ").first.flatMap { Int($0.replacingOccurrences(of: ",", with: "")) }
    }

    func testModelTableMatchesTorchvision() throws {
        let s = CLIScratch("model-vgg"); defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["model", "vgg16_bn"], cwd: s.dir))
        XCTAssertTrue(try XCTUnwrap(firstLine(out, startingWith: "torchvision"), out).contains("138,365,992"), out)
        // default attach point: the max pool ending block 2 (features.13), [128, 8, 8] at 32x32
        XCTAssertTrue(out.contains("features.13"), out)
        XCTAssertEqual(params(out, "SideNet"), 128 * 64 * 32 + 32 + 64 + 32 * 10 + 10, out)
        let prefix = try XCTUnwrap(params(out, "MainNet prefix"), out), rest = try XCTUnwrap(params(out, "MainNet remainder"), out)
        // vgg16_bn's features and classifier.0-5 (torchvision total minus classifier.6, which the head replaces)
        XCTAssertEqual(prefix + rest, 138_365_992 - (4096 * 1000 + 1000), out)
        let vgg11 = assertSucceeds(try sidenet(["model", "vgg11", "--attach", "features.2"], cwd: s.dir))
        XCTAssertTrue(try XCTUnwrap(firstLine(vgg11, startingWith: "torchvision"), vgg11).contains("132,863,336"), vgg11)
    }

    func testModelRejectsABadVGGAttachPoint() throws {
        let s = CLIScratch("model-vgg-bad"); defer { s.cleanup() }
        assertRejected(try sidenet(["model", "vgg11_bn", "--attach", "features.40"], cwd: s.dir), mentions: ["features.40"])
        assertRejected(try sidenet(["model", "vgg11_bn", "--attach", "layer1"], cwd: s.dir), mentions: ["layer1"])
    }

    func testRunTrainsATinyVGGSpec() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("run-vgg"); defer { s.cleanup() }
        let yaml = TinyCLI.resnetYAML(name: "cli-tiny-vgg", cifarPath: f.cifar)
            .replacingOccurrences(of: "arch: resnet\n", with: "arch: vgg\n")
            .replacingOccurrences(of: "config: {blocks: [1, 1, 1, 1], width: 4, block: basic}", with: "config: {cfg: A, batch_norm: true, width: 4}")
            .replacingOccurrences(of: "attach: layer1", with: "attach: features.7")
        XCTAssertTrue(yaml.contains("arch: vgg") && yaml.contains("features.7"), yaml)
        try s.write("vgg.yaml", yaml)
        let args = ["run", "vgg.yaml", "--db", "db.sqlite", "--results", "res", "--threads", "2"]
        let out = assertSucceeds(try sidenet(args, cwd: s.dir))
        let rows = outputRows(out, startingWith: ["cli-tiny-vgg"])
        XCTAssertEqual(Set(rows.map { $0.count >= 4 ? $0[3] : "" }), ["finished"], out)
        XCTAssertEqual(rows.count, 2, out)
        let ckpts = (try? FileManager.default.subpathsOfDirectory(atPath: s.dir.appendingPathComponent("res").path)) ?? []
        XCTAssertTrue(ckpts.contains { $0.hasSuffix("sidenet-seed0-epoch1.safetensors") }, "\(ckpts)")

        // a wrong attach point fails before training, naming the field and the point
        try s.write("bad.yaml", yaml.replacingOccurrences(of: "attach: features.7", with: "attach: features.77")
            .replacingOccurrences(of: "cli-tiny-vgg", with: "cli-bad-vgg"))
        assertRejected(try sidenet(["run", "bad.yaml", "--db", "db.sqlite", "--results", "res"], cwd: s.dir),
                       mentions: ["sidenet.attach", "features.77"])
    }
}
