import Foundation
import XCTest
import Runner
import Specs
import Store

/// Two runners (two ResultStore connections to one SQLite file) executing the same spec at the
/// same time on two threads: every (variant, seed) is trained and finished exactly once.
final class RunnerConcurrencyTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("concurrent") }
    override func tearDown() { scratch.cleanup() }

    func testTwoRunnersShareOneDatabaseWithoutDuplicates() throws {
        let spec = try TinySpecs.resnet(name: "t-concurrent", seeds: [0, 1], variants: ["sidenet", "baseline"], epochs: 1)
        let storeA = try ResultStore(path: scratch.databasePath)
        let storeB = try ResultStore(path: scratch.databasePath)
        XCTAssertNotEqual(storeA.ownerToken, storeB.ownerToken)
        let runners = [Runner(store: storeA, options: testOptions(scratch, threads: 1)),
                       Runner(store: storeB, options: testOptions(scratch, threads: 1))]

        let results = Results()
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for i in 0..<2 {
            DispatchQueue.global().async(group: group) {
                start.wait()
                do {
                    let o = try runners[i].run([spec])
                    results.set(i, o)
                } catch {
                    results.fail("runner \(i): \(error)")
                }
            }
        }
        start.signal(); start.signal()
        XCTAssertEqual(group.wait(timeout: .now() + 600), .success, "runners did not finish within 10 minutes")
        XCTAssertEqual(results.errors, [])

        let all = results.outcomes[0] + results.outcomes[1]
        let finished = all.filter { $0.status == .finished }
        XCTAssertEqual(finished.count, 4, "each of the 4 runs finished by exactly one runner: \(all.map { "\($0.variant)/\($0.seed)=\($0.status)" })")
        XCTAssertEqual(Set(finished.map { "\($0.variant.rawValue)/\($0.seed)" }).count, 4, "no run finished twice")
        for o in all where o.status != .finished {
            XCTAssertTrue(o.status == .skipped || o.status == .runningElsewhere,
                          "\(o.variant) seed \(o.seed): the other runner must skip, got \(o.status) \(o.reason ?? "")")
        }
        XCTAssertEqual(all.count, 8, "each runner reports every (variant, seed)")

        let runs = try storedRuns(storeA, spec)
        XCTAssertEqual(runs.count, 4, "one run row per (variant, seed)")
        for r in runs {
            XCTAssertEqual(r.status, .finished, "\(r.variant) seed \(r.seed)")
            XCTAssertEqual(r.attempts, 1, "\(r.variant) seed \(r.seed) was claimed more than once")
            XCTAssertTrue(r.owner == storeA.ownerToken || r.owner == storeB.ownerToken)
            XCTAssertEqual(try storeA.epochs(runId: r.id!).map(\.epoch), [1])
            XCTAssertEqual(try storeB.predictions(runId: r.id!).count, SharedData.cifarTest)
        }
        XCTAssertEqual(try storeA.experiments().count, 1)
        XCTAssertEqual(try storeB.integrityCheck(), ["ok"])
    }
}

/// Outcomes and errors of the two runner threads.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var _outcomes: [[RunOutcome]] = [[], []]
    private var _errors: [String] = []
    var outcomes: [[RunOutcome]] { lock.lock(); defer { lock.unlock() }; return _outcomes }
    var errors: [String] { lock.lock(); defer { lock.unlock() }; return _errors }
    func set(_ i: Int, _ o: [RunOutcome]) { lock.lock(); _outcomes[i] = o; lock.unlock() }
    func fail(_ e: String) { lock.lock(); _errors.append(e); lock.unlock() }
}
