import Foundation
import XCTest

/// `sidenet eval` reads what a checkpoint holds from its metadata: a run's checkpoint evaluates
/// (success path in `EvalCLITests`), the same tensors without the run metadata fail in one line.
final class EvalMetadataCLITests: XCTestCase {
    /// A copy of a safetensors file without its `__metadata__` (the tensors' bytes unchanged).
    private func strippedCopy(of path: String, to out: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any])
        XCTAssertNotNil(header["__metadata__"], "a run's checkpoint has metadata")
        header["__metadata__"] = nil
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out8 = Data((0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) })
        out8.append(json)
        out8.append(data.subdata(in: (8 + n)..<data.count))
        try out8.write(to: URL(fileURLWithPath: out))
    }

    func testCheckpointWithoutRunMetadataFailsInOneLine() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("eval-meta"); defer { s.cleanup() }
        let ckpt = try XCTUnwrap(f.checkpoints().first { $0.hasSuffix("/sidenet-seed0-best-epoch1.safetensors") })
        try strippedCopy(of: ckpt, to: s.path("bare.safetensors"))
        let r = try sidenet(["eval", f.resnetSpec, "--checkpoint", "bare.safetensors", "--out", "x.csv"], cwd: s.dir)
        assertRejected(r, mentions: ["bare.safetensors", "metadata", "'experiment' is missing"])
        XCTAssertEqual(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, r.stderr)
        XCTAssertFalse(s.exists("x.csv"))
        // the same bytes with their metadata evaluate
        assertSucceeds(try sidenet(["eval", f.resnetSpec, "--checkpoint", ckpt, "--out", "y.csv"], cwd: s.dir))
    }
}
