import Foundation
import XCTest
import Report

final class CalibrationTests: XCTestCase {
    func testPaperBinEdges() {
        let s = BinScheme.paper8
        XCTAssertEqual(s.binCount, 8)
        // The naive index would misplace 0.3 (formats.md 8.2): the edge array must not.
        XCTAssertEqual(Int(((0.3 - 0.2) / 0.1).rounded(.down)), 0)
        XCTAssertEqual(s.bin(of: 0.3), 1)
        XCTAssertEqual(s.bin(of: 0.5), 3)
        XCTAssertEqual(s.bin(of: 0.9), 7)
        XCTAssertEqual(s.bin(of: 0.2), 0)
        XCTAssertEqual(s.bin(of: 0.12), 0)   // below range merged into the first bin
        XCTAssertEqual(s.bin(of: 0.0), 0)
        XCTAssertEqual(s.bin(of: 1.0), 7)
        XCTAssertEqual(s.bin(of: 0.7), 5)
        XCTAssertEqual(s.bin(of: 0.2999999), 0)
        // Float32-rounded values are below their decimal edges (0.699999988, 0.899999976).
        XCTAssertEqual(s.bin(of: Double(Float(0.7))), 4)
        XCTAssertEqual(s.bin(of: Double(Float(0.9))), 6)
        XCTAssertEqual(s.bin(of: Double(Float(0.5))), 3) // 0.5 is exact in Float32
    }

    func testGuoBinEdges() {
        let s = BinScheme.guo15
        XCTAssertEqual(s.binCount, 15)
        XCTAssertEqual(s.bin(of: 0), 0)
        XCTAssertEqual(s.bin(of: 1.0 / 15), 0)   // upper-inclusive
        XCTAssertEqual(s.bin(of: 2.0 / 15), 1)
        XCTAssertEqual(s.bin(of: 0.5), 7)        // (7/15, 8/15]
        XCTAssertEqual(s.bin(of: 1.0), 14)
    }

    func testPaperECEByHand() throws {
        let conf = [0.1, 0.25, 0.5, 0.55, 0.9, 1.0]
        let ok = [false, true, true, false, true, true]
        let c = try calibration(confidences: conf, correct: ok, scheme: .paper8)
        // bin0 {0.1 F, 0.25 T}: |0.5 - 0.175| = 0.325; bin3 {0.5 T, 0.55 F}: |0.5 - 0.525| = 0.025;
        // bin7 {0.9 T, 1.0 T}: |1 - 0.95| = 0.05; each weight 2/6.
        let expected = (0.325 + 0.025 + 0.05) / 3
        XCTAssertEqual(c.ece, expected, accuracy: 1e-12, "ece \(c.ece) vs \(expected)")
        XCTAssertEqual(c.ecePercent, 100 * expected, accuracy: 1e-10)
        XCTAssertEqual(c.belowRange, 1)
        XCTAssertEqual(c.bins.map(\.count), [2, 0, 0, 2, 0, 0, 0, 2])
        XCTAssertEqual(c.bins[0].accuracy, 0.5)
        XCTAssertEqual(c.bins[0].meanConfidence!, 0.175, accuracy: 1e-12)
        XCTAssertNil(c.bins[1].accuracy)
        XCTAssertEqual(c.bins[7].lower, 0.9)
        XCTAssertEqual(c.bins[7].upper, 1.0)
    }

    func testGuoECEByHand() throws {
        let conf = [0.1, 0.25, 0.5, 0.55, 0.9, 1.0]
        let ok = [false, true, true, false, true, true]
        let c = try calibration(confidences: conf, correct: ok, scheme: .guo15)
        // All in distinct bins (1, 3, 7, 8, 13, 14): gaps .1 .75 .5 .55 .1 0 -> 2.0 / 6.
        XCTAssertEqual(c.ece, 2.0 / 6, accuracy: 1e-12, "ece \(c.ece)")
        XCTAssertEqual(c.bins.enumerated().filter { $0.element.count > 0 }.map(\.offset), [1, 3, 7, 8, 13, 14])
        XCTAssertEqual(c.belowRange, 0)
    }

    func testFloat32SevenTenths() throws {
        let f = Double(Float(0.7))
        let c = try calibration(confidences: [f, 0.7], correct: [true, false], scheme: .paper8)
        XCTAssertEqual(c.bins[4].count, 1)
        XCTAssertEqual(c.bins[5].count, 1)
        let expected = 0.5 * (1 - f) + 0.5 * 0.7
        XCTAssertEqual(c.ece, expected, accuracy: 1e-15, "ece \(c.ece)")
    }

    func testInvalidConfidenceThrows() {
        XCTAssertThrowsError(try calibration(confidences: [0.5, 1.5], correct: [true, true], scheme: .paper8))
        XCTAssertThrowsError(try calibration(confidences: [.nan], correct: [true], scheme: .guo15))
    }

    func testAggregateOverSeeds() throws {
        let a = try calibration(confidences: [0.95, 0.95], correct: [true, true], scheme: .paper8)
        let b = try calibration(confidences: [0.95, 0.95, 0.35], correct: [true, false, false], scheme: .paper8)
        let agg = aggregate([(seed: 1, calibration: a), (seed: 2, calibration: b)], head: .side, scheme: .paper8)!
        // ECE a: |1 - .95| = .05 -> 5 %; b: bin7 2/3 * |.5 - .95| + bin1 1/3 * .35 = .3 + .11667.
        let eceB = 2.0 / 3 * 0.45 + 1.0 / 3 * 0.35
        XCTAssertEqual(agg.perSeed[1].calibration.ece, eceB, accuracy: 1e-12)
        XCTAssertEqual(agg.ecePercent.mean, (5 + 100 * eceB) / 2, accuracy: 1e-9)
        XCTAssertEqual(agg.ecePercent.std, abs(5 - 100 * eceB) / 2.0.squareRoot(), accuracy: 1e-9)
        // Bin 7: accuracies 1.0 and 0.5 -> mean .75; bin 1 only from seed 2.
        XCTAssertEqual(agg.bins[7].accuracy!.mean, 0.75, accuracy: 1e-12)
        XCTAssertEqual(agg.bins[7].totalCount, 4)
        XCTAssertEqual(agg.bins[1].seedsNonEmpty, 1)
        XCTAssertEqual(agg.bins[1].accuracy!, MeanStd(mean: 0, std: 0))
        XCTAssertNil(agg.bins[0].accuracy)
    }

    func testRunCalibrationHeads() throws {
        let r = syntheticRun(experiment: "x", variant: .baseline, seed: 1, n: 20, classes: 10,
                             compute: resnetCompute(params: 100, gflops: 1))
        XCTAssertNil(try calibration(run: r, head: .side, scheme: .paper8))
        let m = try calibration(run: r, head: .main, scheme: .paper8)!
        XCTAssertEqual(m.count, 20)
        XCTAssertEqual(m.bins.reduce(0) { $0 + $1.count }, 20)
    }

    /// Edges of any `evaluation.ece` setting are the correctly rounded decimals, so confidences
    /// on an edge land in the upper bin (0.2 + 0.1 would put 0.3 in the lower one).
    func testSpecSchemeEdgesAreDecimal() {
        XCTAssertEqual(BinScheme.paper8.edges, [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
        XCTAssertEqual(BinScheme.paper(bins: 8, low: 0.2, high: 1.0), .paper8)
        let ten = BinScheme.paper(bins: 10, low: 0, high: 1)
        XCTAssertEqual(ten.edges, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
        XCTAssertEqual(ten.bin(of: 0.3), 3)
        XCTAssertEqual(ten.bin(of: 0.7), 7)
        XCTAssertEqual(ten.bin(of: 1.0), 9)
        XCTAssertEqual(ten.rawValue, "paper10_0-1")
        let odd = BinScheme.paper(bins: 3, low: 0.4, high: 0.7)
        XCTAssertEqual(odd.edges, [0.4, 0.5, 0.6, 0.7])
        XCTAssertEqual(odd.bin(of: 0.1), 0)
        XCTAssertEqual(odd.bin(of: 0.95), 2)
        XCTAssertEqual(BinScheme.paper8.bin(of: 0.3), 1)
        XCTAssertEqual(BinScheme.paper8.rawValue, "paper8")
        XCTAssertEqual(BinScheme.guo15.rawValue, "guo15")
    }

    /// Weighted ECE and unweighted gap sum from the same bins, with an empty bin and
    /// confidences below the range and above it.
    func testGapSumBesideWeightedECE() throws {
        // [0.2,0.3): 0.1 ✓, 0.25 ✗ -> acc 0.5, conf 0.175, gap 0.325; [0.3,0.4) empty;
        // [0.9,1]: 0.95 ✓ -> gap 0.05. n = 3: ECE = 2/3 * 0.325 + 1/3 * 0.05 = 0.2333...
        let c = try calibration(confidences: [0.1, 0.25, 0.95], correct: [true, false, true], scheme: .paper8)
        XCTAssertEqual(c.binGapSum, 0.375, accuracy: 1e-12)
        XCTAssertEqual(c.ece, 2.0 / 3 * 0.325 + 0.05 / 3, accuracy: 1e-12)
        XCTAssertEqual(c.belowRange, 1)
        XCTAssertEqual(c.aboveRange, 0)
        XCTAssertNil(c.bins[1].accuracy)
        let narrow = try calibration(confidences: [0.1, 0.25, 0.95], correct: [true, false, true],
                                     scheme: .paper(bins: 2, low: 0.3, high: 0.9))
        // Both of the first two merge into [0.3, 0.6): acc 0.5, conf 0.175; 0.95 -> [0.6, 0.9].
        XCTAssertEqual(narrow.belowRange, 2)
        XCTAssertEqual(narrow.aboveRange, 1)
        XCTAssertEqual(narrow.bins.map(\.count), [2, 1])
        XCTAssertEqual(narrow.binGapSum, 0.375, accuracy: 1e-12)
    }
}
