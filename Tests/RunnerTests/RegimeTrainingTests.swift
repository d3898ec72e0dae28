import Foundation
import XCTest
import Runner
import Specs
import Store

/// Each regime's declaration drives training: after optimizer steps through the runner's own
/// step (`JointObjective.step` = `trainingStep` + Adam over `RegimeNet.trainableParameters`),
/// every parameter and buffer of a frozen-in-eval part is bit-identical, a frozen-in-train part
/// keeps its parameters but updates its BatchNorm statistics, and every trained part changes.
final class RegimeTrainingTests: XCTestCase {
    /// A full run's best checkpoint (backbone + head.*), the weights regime sidenet needs.
    private static let harnessWeights: Result<String, Error> = Result(catching: { () throws -> String in
        let scratch = Scratch("regime-weights")  // kept until the process ends: tests share it
        let store = try ResultStore(path: scratch.databasePath)
        let spec = try TinySpecs.resnet(name: "t-regime-weights", variants: ["sidenet"], epochs: 1)
        let outcomes = try Runner(store: store, options: testOptions(scratch)).run([spec])
        guard outcomes.map(\.status) == [.finished], let run = findRun(try storedRuns(store, spec), .sidenet, 0),
              let id = run.id, let best = try store.checkpoint(runId: id, kind: .best) else {
            throw RunnerError.invalid("no full-regime checkpoint: \(outcomes.map(\.reason))")
        }
        return best.path
    })

    private func objective(_ regime: Regime, declaration: RegimeDeclaration? = nil) throws -> JointObjective {
        let weights = regime.declaration.needsLoadedHead ? try Self.harnessWeights.get() : nil
        let variants = regime.declaration.trainsMainNet ? ["sidenet", "baseline"] : ["sidenet"]
        let spec = try TinySpecs.resnet(name: "t-regime-\(regime.rawValue)", variants: variants,
                                        regime: regime.rawValue, weights: weights)
        return try JointObjective(spec: spec, baseDir: SharedData.root, seed: 5, declaration: declaration)
    }

    /// Two Adam steps (lr 1e-2) and the state before and after.
    private func train(_ o: JointObjective, withSide: Bool) throws -> (before: [String: [Float]], after: [String: [Float]]) {
        let before = o.state
        let idx = o.trainIndices
        _ = try o.step(Array(idx.prefix(16)), alpha: 1, withSide: withSide, lr: 1e-2)
        _ = try o.step(Array(idx.dropFirst(16).prefix(16)), alpha: 1, withSide: withSide, lr: 1e-2)
        return (before, o.state)
    }

    private func isStatistic(_ name: String) -> Bool {
        name.hasSuffix(".running_mean") || name.hasSuffix(".running_var") || name.hasSuffix(".num_batches_tracked")
    }

    /// Checks every part against `d`; returns how many tensors were compared.
    @discardableResult
    private func check(_ o: JointObjective, _ d: RegimeDeclaration, withSide: Bool, _ tag: String) throws -> Int {
        let parameterNames = Set(o.parameters.map(\.0))
        let trainedParts = NetPart.allCases.filter { d.training(of: $0).isTrained && ($0 != .sideNet || withSide) }
        let expected = o.parameters.map(\.0).filter { name in trainedParts.contains { o.stateNames[$0]!.contains(name) } }
        XCTAssertEqual(o.trainableParameterNames(withSide: withSide), expected, "\(tag): the optimizer's parameters")
        let (before, after) = try train(o, withSide: withSide)
        var compared = 0
        for part in NetPart.allCases {
            let names = o.stateNames[part]!
            XCTAssertFalse(names.isEmpty, "\(tag): no \(part.rawValue) state")
            let params = names.filter { parameterNames.contains($0) }
            let stats = names.filter { isStatistic($0) }
            XCTAssertFalse(stats.isEmpty, "\(tag): \(part.rawValue) has no BatchNorm statistics")
            let unchanged = { (n: String) in before[n]! == after[n]! }
            let ran = part != .sideNet || withSide
            switch d.training(of: part) {
            case .trained where ran:
                for n in params { XCTAssertFalse(unchanged(n), "\(tag): trained \(n) did not change") }
                for n in stats { XCTAssertFalse(unchanged(n), "\(tag): \(n) not updated (train-mode BatchNorm)") }
            case .frozen(batchNorm: .train) where ran:
                for n in params { XCTAssertTrue(unchanged(n), "\(tag): frozen \(n) changed") }
                for n in stats { XCTAssertFalse(unchanged(n), "\(tag): \(n) not updated (frozen in train mode)") }
            default:  // frozen in eval mode, or a SideNet the baseline never runs: bit-identical
                for n in names { XCTAssertTrue(unchanged(n), "\(tag): \(n) changed") }
            }
            compared += names.count
        }
        return compared
    }

    func testEachRegimeTrainsExactlyWhatItDeclares() throws {
        for regime in Regime.allCases {
            let d = regime.declaration
            let o = try objective(regime)
            let all = o.state.count
            XCTAssertEqual(try check(o, d, withSide: true, "\(regime.rawValue) sidenet"), all,
                           "\(regime.rawValue): every tensor compared")
            if d.trainsMainNet {
                try check(try objective(regime), d, withSide: false, "\(regime.rawValue) baseline")
            }
        }
    }

    /// The declaration, not the regime's name, decides: the full regime's spec trained under a
    /// declaration that freezes its backbone in train mode keeps every backbone weight while its
    /// BatchNorm statistics move (a row the table does not have, run through the same code).
    func testADeclarationOutsideTheTableIsFollowed() throws {
        var d = Regime.full.declaration
        d.backbone = .frozen(batchNorm: .train)
        XCTAssertEqual(d.problems, [])
        try check(try objective(.full, declaration: d), d, withSide: true, "full, backbone frozen in train mode")
        var e = Regime.heads.declaration
        e.mainHead = .frozen(batchNorm: .train)  // on cached features: the head's statistics move, its weights do not
        XCTAssertEqual(e.problems, [])
        try check(try objective(.sidenet, declaration: e), e, withSide: true, "heads, head frozen in train mode")
    }
}
