import Layers
import Models
import Tensors
import XCTest

/// `EarlyExitQueue` / `earlyExitStream`: survivors of several batches run the remainder together
/// in full batches, and every answer equals `earlyExit` on the example's own batch.
final class EarlyExitQueueTests: XCTestCase {
    /// Toy stages: activation row i = [v]; SideNet confidence rises with v; the remainder logs
    /// the rows it gets. Remainder batch 3 over batches of 4, 2, 3 and 1 examples.
    func testRemainderRunsOnFullBatchesInArrivalOrder() throws {
        var restRows: [[Float]] = []
        let stages = EarlyExitStages<Tensor, Tensor>(
            prefix: { $0 },
            side: { a in Tensor(shape: [a.shape[0], 2], data: a.data.flatMap { [$0, 0] }) },
            rest: { a in restRows.append(a.data); return Tensor(shape: [a.shape[0], 2], data: a.data.flatMap { [0, $0 + 10] }) })
        let batches: [[Float]] = [[0, 3, 0.1, 0.2], [5, 0.3], [0.4, 0.5, 4], [0.6]]
        let inputs = batches.map { Tensor(shape: [$0.count, 1], data: $0) }
        let queue = try EarlyExitQueue(stages, theta: 0.8, remainderBatch: 3)   // exits iff v >= ln 4
        var done: [[Int]] = []
        for x in inputs { done.append(try queue.submit(x).map(\.batch)) }
        XCTAssertEqual(restRows, [[0, 0.1, 0.2], [0.3, 0.4, 0.5]])
        // batch 0 completes with the first run, 1 and 2 with the second; batch 3 waits for flush
        XCTAssertEqual(done, [[0], [], [1, 2], []])
        XCTAssertEqual(queue.queued, 1)
        let last = try queue.flush()
        XCTAssertEqual(last.map(\.batch), [3])
        XCTAssertEqual(restRows.last, [0.6])
        XCTAssertEqual(queue.queued, 0)

        restRows = []
        let streamed = try earlyExitStream(stages, inputs: inputs, theta: 0.8, remainderBatch: 3)
        let alone = try inputs.map { try earlyExit(stages, input: $0, theta: 0.8) }
        XCTAssertEqual(streamed, alone)
        XCTAssertEqual(streamed[2].map(\.exit), [.main, .main, .side])
        XCTAssertEqual(streamed[2][1].mainLogits, [0, 10.5])
    }

    /// A chunk larger than the remainder batch is split; a nil concat fails cleanly once two
    /// chunks must be joined.
    func testSplitChunksAndMissingConcat() throws {
        var restSizes: [Int] = []
        var stages = EarlyExitStages<Tensor, Tensor>(
            prefix: { $0 }, side: { a in Tensor(zeros: [a.shape[0], 2]) },   // confidence 0.5 for all
            rest: { a in restSizes.append(a.shape[0]); return Tensor(shape: [a.shape[0], 1], data: a.data) })
        let x = Tensor(shape: [5, 1], data: [1, 2, 3, 4, 5])
        let out = try earlyExitStream(stages, inputs: [x, x], theta: 0.9, remainderBatch: 4)
        XCTAssertEqual(restSizes, [4, 4, 2])
        XCTAssertEqual(out[1].compactMap { $0.mainLogits?.first }, [1, 2, 3, 4, 5])
        stages.concat = nil
        XCTAssertThrowsError(try earlyExitStream(stages, inputs: [x, x], theta: 0.9, remainderBatch: 4)) {
            XCTAssertTrue("\($0)".contains("concat"), "\($0)")
        }
        XCTAssertThrowsError(try EarlyExitQueue(stages, theta: 0.5, remainderBatch: 0))
    }

    /// A real ResNet (random weights): the queued stream gives the same exits, predictions and
    /// logits as early exit batch by batch, at a threshold that splits every batch.
    func testResNetStreamEqualsPerBatch() throws {
        for config in [ResNetConfig.resnet18(numClasses: 10), .resnet50(numClasses: 10)] {
            var rng = SeededGenerator(seed: 7)
            let m = try makeResNetModel(config: config, inputHeight: 32, inputWidth: 32, rng: &rng)
            let inputs = (0..<3).map { _ in MainNetActivation(images: Tensor.normal([6, 3, 32, 32], rng: &rng)) }
            var conf: [Float] = []
            for b in inputs { conf += ClassPrediction.rows(m.sideLogits(try m.forwardPrefix(b, mode: .eval), mode: .eval)).map(\.confidence) }
            let theta = conf.sorted()[conf.count / 2]
            let alone = try inputs.map { try m.earlyExit($0, theta: theta) }
            let streamed = try earlyExitStream(m.earlyExitStages(), inputs: inputs, theta: theta, remainderBatch: 4)
            XCTAssertEqual(streamed.count, alone.count)
            var mains = 0
            for (b, (s, a)) in zip(streamed, alone).enumerated() {
                XCTAssertEqual(s.map(\.exit), a.map(\.exit), "batch \(b)")
                XCTAssertEqual(s.map(\.predicted), a.map(\.predicted), "batch \(b)")
                for (i, (rs, ra)) in zip(s, a).enumerated() {
                    XCTAssertEqual(rs.sideLogits, ra.sideLogits, "batch \(b) example \(i)")
                    guard let ls = rs.mainLogits, let la = ra.mainLogits else { XCTAssertNil(rs.mainLogits); continue }
                    mains += 1
                    XCTAssertLessThanOrEqual(Tensor(shape: [10], data: ls).maxAbsDifference(Tensor(shape: [10], data: la)), 1e-5,
                                             "\(config.block) batch \(b) example \(i)")
                }
            }
            XCTAssertTrue(mains > 0 && mains < 18, "\(mains) of 18 continued")
        }
    }
}
