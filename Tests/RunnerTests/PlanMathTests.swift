import XCTest
import Runner

/// The plan's arithmetic from given throughputs (nothing is timed here).
final class PlanMathTests: XCTestCase {
    func testFullRegimeEstimate() {
        // 10 runs x 50 epochs x 45,000 training images at 100 img/s; 5,000 validation images per
        // epoch and 10,000 test images once at 500 img/s.
        let w = PlanWorkload(experiment: "r18", regime: "full", runs: 10, epochs: 50, trainExamples: 45_000,
                             validationExamples: 5000, testExamples: 10_000)
        let e = PlanMath.estimate(w, PlanThroughput(trainPerSecond: 100, evalPerSecond: 500, featurePerSecond: 500))
        XCTAssertEqual(e.secondsPerRun, 50 * (450 + 10) + 20, accuracy: 1e-9)
        XCTAssertEqual(e.featureSeconds, 0)
        XCTAssertEqual(e.totalSeconds, 10 * 23_020, accuracy: 1e-9)
        XCTAssertEqual(e.hours, 10 * 23_020 / 3600, accuracy: 1e-12)
        XCTAssertEqual(w.trainedExamples, 10 * 50 * 45_000)
    }

    func testFrozenRegimeCountsTheFeaturePassOnce() {
        let w = PlanWorkload(experiment: "f", regime: "heads", runs: 10, epochs: 50, trainExamples: 45_000,
                             validationExamples: 5000, testExamples: 10_000, featurePassExamples: 60_000, featurePasses: 1)
        let e = PlanMath.estimate(w, PlanThroughput(trainPerSecond: 90_000, evalPerSecond: 100_000, featurePerSecond: 1000))
        XCTAssertEqual(e.featureSeconds, 60, accuracy: 1e-9)
        XCTAssertEqual(e.secondsPerRun, 50 * (0.5 + 0.05) + 0.1, accuracy: 1e-9)
        XCTAssertEqual(e.totalSeconds, 60 + 10 * 27.6, accuracy: 1e-9)
    }

    func testWallTimeSpreadsRunsLongestFirst() {
        let t = PlanThroughput(trainPerSecond: 1, evalPerSecond: 1e12, featurePerSecond: 1)
        func exp(_ name: String, runs: Int, seconds: Int) -> PlanEstimate {
            PlanMath.estimate(PlanWorkload(experiment: name, regime: "full", runs: runs, epochs: 1, trainExamples: seconds,
                                           validationExamples: 0, testExamples: 0), t)
        }
        // runs of 100 s (x4) and 30 s (x3): 490 s on one machine
        let es = [exp("a", runs: 4, seconds: 100), exp("b", runs: 3, seconds: 30)]
        XCTAssertEqual(PlanMath.wallSeconds(es, machines: 1), 490, accuracy: 1e-6)
        // two machines, longest first: 100+100+30+30 | 100+100+30 -> 260
        XCTAssertEqual(PlanMath.wallSeconds(es, machines: 2), 260, accuracy: 1e-6)
        // more machines than runs: the longest run bounds the wall time
        XCTAssertEqual(PlanMath.wallSeconds(es, machines: 10), 100, accuracy: 1e-6)
        XCTAssertEqual(PlanMath.wallSeconds([], machines: 3), 0)
    }

    func testWallTimeAddsEachMachinesFeaturePass() {
        let w = PlanWorkload(experiment: "f", regime: "heads", runs: 2, epochs: 1, trainExamples: 10,
                             validationExamples: 0, testExamples: 0, featurePassExamples: 50, featurePasses: 1)
        let e = PlanMath.estimate(w, PlanThroughput(trainPerSecond: 1, evalPerSecond: 1e12, featurePerSecond: 1))
        XCTAssertEqual(e.totalSeconds, 50 + 20, accuracy: 1e-6)
        // on two machines each run needs its own feature pass
        XCTAssertEqual(PlanMath.wallSeconds([e], machines: 2), 60, accuracy: 1e-6)
    }
}
