import Foundation
import XCTest
import Optim
import Tensors

final class PlateauTests: XCTestCase {
    /// The learning-rate sequence must equal PyTorch's exactly (Double ==), epoch by epoch.
    func testLearningRateSequencesMatchPyTorchExactly() throws {
        let fx = try loadJSON("plateau.json")
        let cases = fx["cases"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let name = c["name"] as! String
            let o = c["options"] as! [String: Any]
            let opt = Adam(parameters: [("p", Parameter(Tensor(zeros: [1])))], lr: c["lr"] as! Double)
            let sch = ReduceLROnPlateau(
                optimizer: opt,
                mode: (o["mode"] as? String).flatMap(ReduceLROnPlateau.Mode.init(rawValue:)) ?? .min,
                factor: o["factor"] as! Double, patience: o["patience"] as! Int,
                threshold: (o["threshold"] as? Double) ?? 1e-4,
                thresholdMode: (o["threshold_mode"] as? String).flatMap(ReduceLROnPlateau.ThresholdMode.init(rawValue:)) ?? .rel,
                cooldown: (o["cooldown"] as? Int) ?? 0,
                minLR: (o["min_lr"] as? Double) ?? 0, eps: (o["eps"] as? Double) ?? 1e-8)
            let losses = (c["losses_hex"] as! [String]).map { Double($0)! }
            XCTAssertTrue(losses.contains { $0.isNaN }, "\(name): fixture should contain NaN")
            let lrs = (c["lrs_hex"] as! [String]).map { Double($0)! }
            var reductions = 0
            var previous = opt.lr
            for (i, m) in losses.enumerated() {
                let reduced = sch.step(metric: m)
                XCTAssertEqual(opt.lr, lrs[i], "\(name) epoch \(i + 1): lr \(opt.lr) != PyTorch \(lrs[i])")
                XCTAssertEqual(reduced, opt.lr != previous, "\(name) epoch \(i + 1): reduced flag")
                if reduced { reductions += 1 }
                previous = opt.lr
            }
            XCTAssertGreaterThanOrEqual(reductions, 3, "\(name): fixture should reduce several times")
            let f = c["final"] as! [String: Any]
            XCTAssertEqual(sch.best, Double(f["best_hex"] as! String)!, name)
            XCTAssertEqual(sch.numBadEpochs, f["num_bad_epochs"] as! Int, name)
            XCTAssertEqual(sch.cooldownCounter, f["cooldown_counter"] as! Int, name)
            XCTAssertEqual(sch.lastEpoch, f["last_epoch"] as! Int, name)
        }
    }

    func testNaNIsNeverBetter() {
        let opt = Adam(parameters: [], lr: 1)
        let sch = ReduceLROnPlateau(optimizer: opt, factor: 0.5, patience: 0)
        XCTAssertFalse(sch.isBetter(.nan, than: .infinity))
        XCTAssertTrue(sch.step(metric: .nan))  // NaN even on the first call: bad epoch 1 > patience 0
        XCTAssertEqual(opt.lr, 0.5)
        XCTAssertEqual(sch.best, .infinity)
        XCTAssertFalse(sch.step(metric: 3))    // finite value improves on +inf
        XCTAssertEqual(sch.best, 3)
    }

    func testStateRoundTripResumes() throws {
        let losses: [Double] = [1, 0.9, 0.95, 0.95, 0.95, .nan, 0.95, 0.95, 0.7, 0.8, 0.8, 0.8, 0.8]
        let optA = Adam(parameters: [], lr: 3e-4)
        let a = ReduceLROnPlateau(optimizer: optA, factor: 1.0 / 3.0, patience: 2, cooldown: 1)
        var lrsA: [Double] = []
        for m in losses { a.step(metric: m); lrsA.append(optA.lr) }

        let optB = Adam(parameters: [], lr: 3e-4)
        var b = ReduceLROnPlateau(optimizer: optB, factor: 1.0 / 3.0, patience: 2, cooldown: 1)
        var lrsB: [Double] = []
        for m in losses[..<6] { b.step(metric: m); lrsB.append(optB.lr) }
        let saved = try JSONEncoder().encode(b.exportState())
        let fresh = Adam(parameters: [], lr: optB.lr)
        b = ReduceLROnPlateau(optimizer: fresh, factor: 1.0 / 3.0, patience: 2, cooldown: 1)
        b.importState(try JSONDecoder().decode(PlateauState.self, from: saved))
        for m in losses[6...] { b.step(metric: m); lrsB.append(fresh.lr) }
        XCTAssertEqual(lrsA, lrsB)
        XCTAssertLessThan(lrsA.last!, 3e-4)

        let initial = ReduceLROnPlateau(optimizer: optA, factor: 0.5, patience: 1).exportState()
        let back = try JSONDecoder().decode(PlateauState.self, from: JSONEncoder().encode(initial))
        XCTAssertEqual(back.best, .infinity)
    }
}
