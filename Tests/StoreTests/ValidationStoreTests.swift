import Foundation
import XCTest
import Store

/// Migration v4-validation-predictions: validation rows written with the test rows, read back,
/// absent for runs finished without them and for databases written before the migration;
/// timings recorded and replaced.
final class ValidationStoreTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-val-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    let summary = RunSummary(numClasses: 3, paramsPrefix: 10, paramsSidenet: 2, paramsMainnet: 100,
                             flopsPrefix: 1, flopsSidenet: 1, flopsMainnet: 9, bestEpoch: 1, testAccMain: 1, testAccSide: 0.5)

    func row(_ run: Int64, _ i: Int, label: Int) -> PredictionRow {
        PredictionRow(runId: run, idx: i, label: label, sidePred: i % 3, sideConf: 0.5 + Double(i) / 100, mainPred: label,
                      mainConf: 0.9, sideLogits: [Float(i), 0, -1], mainLogits: [1, Float(label), 2])
    }

    func finishedRun(_ s: ResultStore, validation: Int) throws -> Int64 {
        let e = try s.registerExperiment(name: "e", specJSON: "{}", specHash: "h")
        guard case .claimed(let run, _) = try s.claimRun(experimentId: e, variant: .sidenet, seed: 0, host: "h", threads: 1,
                                                          gitCommit: nil, regime: "full") else { XCTFail("not claimed"); return -1 }
        try s.finishRun(runId: run, predictions: (0..<4).map { row(run, $0, label: 1) }, summary: summary,
                        validationPredictions: (0..<validation).map { row(run, $0, label: 2) })
        return run
    }

    func testValidationRowsRoundTripBesideTestRows() throws {
        let s = try ResultStore(path: dir.appendingPathComponent("a.sqlite").path)
        XCTAssertTrue(try s.appliedMigrations().contains("v4-validation-predictions"))
        let run = try finishedRun(s, validation: 6)
        let val = try s.validationPredictions(runId: run)
        XCTAssertEqual(val, (0..<6).map { row(run, $0, label: 2) })
        XCTAssertEqual(try s.predictions(runId: run).count, 4)
        XCTAssertTrue(try s.hasValidationPredictions(runId: run))
        XCTAssertEqual(try val[5].sideLogitValues(), [5, 0, -1])
    }

    func testRunFinishedWithoutValidationRowsSaysSo() throws {
        let s = try ResultStore(path: dir.appendingPathComponent("b.sqlite").path)
        let run = try finishedRun(s, validation: 0)
        XCTAssertFalse(try s.hasValidationPredictions(runId: run))
        XCTAssertEqual(try s.validationPredictions(runId: run), [])
    }

    func testRowsOfAnotherRunAreRefused() throws {
        let s = try ResultStore(path: dir.appendingPathComponent("c.sqlite").path)
        let e = try s.registerExperiment(name: "e", specJSON: "{}", specHash: "h")
        guard case .claimed(let run, _) = try s.claimRun(experimentId: e, variant: .sidenet, seed: 0, host: "h", threads: 1,
                                                          gitCommit: nil, regime: "full") else { return XCTFail("not claimed") }
        XCTAssertThrowsError(try s.finishRun(runId: run, predictions: [], summary: summary,
                                             validationPredictions: [row(run + 1, 0, label: 0)]))
        XCTAssertEqual(try s.run(id: run)?.status, .running, "nothing written")
    }

    func testDatabaseWrittenBeforeTheMigrationStillOpens() throws {
        let path = dir.appendingPathComponent("old.sqlite").path
        try ResultStore.createLegacyDatabase(path: path, upTo: "v2-data-split")
        let s = try ResultStore(path: path)
        XCTAssertEqual(try s.appliedMigrations().first, "v1-initial")
        XCTAssertTrue(try s.appliedMigrations().contains("v4-validation-predictions"))
        XCTAssertEqual(try s.integrityCheck(), ["ok"])
        XCTAssertEqual(try s.validationPredictions(runId: 1), [])
        XCTAssertFalse(try s.hasValidationPredictions(runId: 1))
    }

    func testReadOnlyOpenOfAnOlderDatabaseReadsNoValidationRows() throws {
        let path = dir.appendingPathComponent("old-ro.sqlite").path
        try ResultStore.createLegacyDatabase(path: path, upTo: "v3-claim-owner")
        let ro = try ResultStore(path: path, readOnly: true)
        XCTAssertFalse(try ro.appliedMigrations().contains("v4-validation-predictions"), "read-only does not migrate")
        XCTAssertEqual(try ro.validationPredictions(runId: 1), [])
        XCTAssertFalse(try ro.hasValidationPredictions(runId: 1))
        XCTAssertEqual(try ro.timings(runId: 1), [])
    }

    func testTimingsAreRecordedAndReplaced() throws {
        let s = try ResultStore(path: dir.appendingPathComponent("d.sqlite").path)
        let run = try finishedRun(s, validation: 2)
        func t(_ theta: Double, _ sec: Double) -> TimingRow {
            TimingRow(runId: run, rule: "maxsoftmax", theta: theta, inputs: 4, exits: 1, secondsPerInput: sec,
                      mainnetSecondsPerInput: 0.5, paramsPerInput: 50, flopsPerInput: 5, accuracy: 0.75,
                      batchSize: 2, threads: 1, repeats: 3, host: "h")
        }
        try s.recordTimings([t(0.9, 0.1), t(0.5, 0.2)])
        try s.recordTimings([t(0.9, 0.3)])
        let got = try s.timings(runId: run)
        XCTAssertEqual(got.map(\.theta), [0.5, 0.9])
        XCTAssertEqual(got.map(\.secondsPerInput), [0.2, 0.3])
        XCTAssertFalse(got[0].measuredAt.isEmpty)
        XCTAssertThrowsError(try s.recordTimings([TimingRow(runId: 999, rule: "maxsoftmax", theta: 0.5, inputs: 1, exits: 0,
                                                             secondsPerInput: 1, mainnetSecondsPerInput: 1, paramsPerInput: 1,
                                                             flopsPerInput: 1, accuracy: 1, batchSize: 1, threads: 1,
                                                             repeats: 1, host: "h")]))
    }
}
