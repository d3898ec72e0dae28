import FuzzTargets
import Foundation
import XCTest

// A short, deterministic stand-in for Tests/Fuzz/run.sh that CI can afford: every seed of
// Tests/Fuzz/corpus/<target>/ goes through its parser, then seeded mutations of the seeds do.
// Seeds named ok-* must be accepted, bad-* and crash-* (inputs that once trapped) refused with a
// typed error; no input may crash or throw an error of an undeclared type.

final class FuzzSmokeTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")
    /// Mutated inputs per target (a few seconds for all targets in release builds).
    static let mutationsPerTarget = 1_500

    func seeds(_ target: FuzzTarget) throws -> [(name: String, data: Data)] {
        let dir = Self.corpus.appendingPathComponent(target.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        return try names.map { ($0, try Data(contentsOf: dir.appendingPathComponent($0))) }
    }

    func testEverySeedHasItsExpectedOutcome() throws {
        for target in FuzzTarget.allCases {
            let all = try seeds(target)
            XCTAssertTrue(all.contains { $0.name.hasPrefix("ok-") }, "\(target): no ok- seed")
            for (name, data) in all {
                switch target.run(data) {
                case .accepted:
                    XCTAssertFalse(name.hasPrefix("bad-") || name.hasPrefix("crash-"), "\(target)/\(name) was accepted")
                case .rejected(let message):
                    XCTAssertFalse(name.hasPrefix("ok-"), "\(target)/\(name) was refused: \(message)")
                    XCTAssertFalse(message.contains("\n"), "\(target)/\(name): message is not one line: \(message)")
                case .untyped(let message):
                    XCTFail("\(target)/\(name): untyped error \(message)")
                }
            }
        }
    }

    func testSeededMutationsOnlyEverGiveTypedErrors() throws {
        for target in FuzzTarget.allCases {
            let all = try seeds(target).map(\.data)
            var rng = SplitMix64(seed: 0x5EED_0000 + UInt64(target.rawValue.utf8.count))
            var accepted = 0, rejected = 0
            for _ in 0..<Self.mutationsPerTarget {
                let input = Mutator.mutate(all[Int(rng.next() % UInt64(all.count))], others: all, rng: &rng)
                switch target.run(input) {
                case .accepted: accepted += 1
                case .rejected: rejected += 1
                case .untyped(let message):
                    XCTFail("\(target): untyped error \(message) for input of \(input.count) bytes: \(input.prefix(64).map { String(format: "%02x", $0) }.joined())")
                    return
                }
            }
            // Mutations must reach past the first check: some inputs parse, some do not.
            XCTAssertGreaterThan(rejected, 0, "\(target): no mutated input was refused")
            print("fuzz smoke \(target): \(accepted) accepted, \(rejected) refused")
        }
    }
}

/// Deterministic generator (SplitMix64): the same mutations on every machine.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
}

/// libFuzzer-like byte mutations, one to four stacked per input.
enum Mutator {
    static let interesting: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x0A, 0x2E, 0x7B, 0x28, 0x5D, 0x7D]

    static func mutate(_ seed: Data, others: [Data], rng: inout SplitMix64) -> Data {
        var b = [UInt8](seed)
        for _ in 0...rng.below(4) {
            let n = b.count
            switch rng.below(8) {
            case 0 where n > 0: b[rng.below(n)] ^= UInt8(1 << rng.below(8))           // flip a bit
            case 1 where n > 0: b[rng.below(n)] = interesting[rng.below(interesting.count)]
            case 2 where n > 0: b[rng.below(n)] = UInt8(truncatingIfNeeded: rng.next())
            case 3: b.insert(interesting[rng.below(interesting.count)], at: rng.below(n + 1))
            case 4 where n > 0:                                                       // delete a run
                let start = rng.below(n)
                b.removeSubrange(start..<min(n, start + 1 + rng.below(16)))
            case 5 where n > 0: b = Array(b.prefix(rng.below(n)))                      // truncate
            case 6 where n > 0:                                                       // repeat a chunk
                let start = rng.below(n), len = min(n - start, 1 + rng.below(32))
                b.insert(contentsOf: b[start..<(start + len)], at: rng.below(n + 1))
            case 7:                                                                   // splice another seed
                let o = [UInt8](others[rng.below(others.count)])
                let cut = rng.below(n + 1), from = rng.below(o.count + 1)
                b = Array(b.prefix(cut)) + Array(o[from...])
            default: break
            }
            if !b.isEmpty, rng.below(6) == 0 {                                        // overwrite a 4/8-byte integer
                let at = rng.below(b.count), v = [UInt64(0), 1, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt64.max, UInt64(Int64.max), 1 << 40][rng.below(7)]
                for i in 0..<min(8, b.count - at) { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
            }
        }
        return Data(b)
    }
}
