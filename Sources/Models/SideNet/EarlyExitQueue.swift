import Tensors

// Early exit over a stream of batches, with the MainNet remainder run on full batches.
//
// `earlyExit` runs the remainder on the survivors of one batch: at an exit rate of 0.75 a
// batch of 128 leaves 32 images, and small batches run the remainder's GEMMs less efficiently
// per image than full ones. A server that answers a stream of batches can instead queue the
// survivors' activations and run the remainder whenever `remainderBatch` of them are waiting
// (and once more on whatever is left when the stream is flushed). Every example still gets the
// same prefix, SideNet decision and remainder as with `earlyExit` on its own batch (eval mode
// has no cross-example state); only when its MainNet answer is computed changes: a batch's
// results are returned once all its survivors have been through the remainder.

/// One input batch's early-exit results, in input order, with the batch's position in the stream.
public struct EarlyExitBatchResult: Equatable, Sendable {
    /// 0 for the first batch submitted, 1 for the second, ...
    public var batch: Int
    public var results: [EarlyExitResult]
}

/// Queued early exit: `submit` batches in order, then `flush`; completed batches come back in
/// submission order. Not thread-safe (one stream per queue).
public final class EarlyExitQueue<Input, Activation> {
    public let stages: EarlyExitStages<Input, Activation>
    public let theta: Float
    /// Examples per remainder run (the last run, at `flush`, may be smaller).
    public let remainderBatch: Int

    /// Survivor activations waiting for the remainder, oldest first, with (batch, row) of each example.
    private var waiting: [(activation: Activation, owners: [(batch: Int, row: Int)])] = []
    private var waitingCount = 0
    /// Batches not yet returned: results so far and how many survivors still lack MainNet logits.
    private var pending: [(batch: Int, results: [EarlyExitResult], missing: Int)] = []
    private var submitted = 0

    public init(_ stages: EarlyExitStages<Input, Activation>, theta: Float, remainderBatch: Int) throws {
        guard remainderBatch >= 1 else { throw ModelError.badInput("remainder batch must be >= 1, got \(remainderBatch)") }
        self.stages = stages
        self.theta = theta
        self.remainderBatch = remainderBatch
    }

    /// Survivors waiting for the remainder.
    public var queued: Int { waitingCount }

    /// Runs the prefix and SideNet on `input`, queues its survivors, runs the remainder on full
    /// batches while enough survivors wait, and returns the batches now complete.
    public func submit(_ input: Input) throws -> [EarlyExitBatchResult] {
        let batch = submitted
        submitted += 1
        let activation = try stages.prefix(input)
        let scored = try sideResults(stages, activation: activation, theta: theta)
        pending.append((batch, scored.results, scored.continuing.count))
        if !scored.continuing.isEmpty {
            let n = scored.results.count
            let sub = scored.continuing.count == n ? activation : try stages.select(activation, scored.continuing)
            waiting.append((sub, scored.continuing.map { (batch, $0) }))
            waitingCount += scored.continuing.count
        }
        while waitingCount >= remainderBatch { try runRemainder(remainderBatch) }
        return takeCompleted()
    }

    /// Runs the remainder on every survivor still waiting and returns the remaining batches.
    public func flush() throws -> [EarlyExitBatchResult] {
        if waitingCount > 0 { try runRemainder(waitingCount) }
        return takeCompleted()
    }

    /// The remainder on the `count` oldest waiting survivors (splitting the last chunk if needed).
    private func runRemainder(_ count: Int) throws {
        var parts: [Activation] = [], owners: [(batch: Int, row: Int)] = []
        while owners.count < count {
            let chunk = waiting.removeFirst(), need = count - owners.count
            if chunk.owners.count <= need {
                parts.append(chunk.activation)
                owners += chunk.owners
            } else {
                parts.append(try stages.select(chunk.activation, Array(0..<need)))
                owners += chunk.owners[0..<need]
                let rest = Array(need..<chunk.owners.count)
                waiting.insert((try stages.select(chunk.activation, rest), Array(chunk.owners[need...])), at: 0)
            }
        }
        waitingCount -= count
        let input: Activation
        if parts.count == 1 { input = parts[0] } else {
            guard let concat = stages.concat else {
                throw ModelError.badInput("early-exit queue: these stages cannot join sub-batches (no concat)")
            }
            input = try concat(parts)
        }
        let mainLogits = try stages.rest(input)
        guard mainLogits.rank == 2 && mainLogits.shape[0] == count else {
            throw ModelError.badInput("MainNet logits must be [\(count), K], got \(mainLogits.shape)")
        }
        let first = pending.first?.batch ?? 0
        for (r, owner) in owners.enumerated() {
            let p = owner.batch - first
            setMainAnswer(&pending[p].results[owner.row], logits: mainLogits, row: r)
            pending[p].missing -= 1
        }
    }

    /// Completed batches at the front of the queue (results leave in submission order).
    private func takeCompleted() -> [EarlyExitBatchResult] {
        var done: [EarlyExitBatchResult] = []
        while let head = pending.first, head.missing == 0 {
            done.append(EarlyExitBatchResult(batch: head.batch, results: head.results))
            pending.removeFirst()
        }
        return done
    }
}

/// Queued early exit over a whole stream of batches (see `EarlyExitQueue`): results per input
/// batch, in input order.
public func earlyExitStream<Input, Activation>(_ stages: EarlyExitStages<Input, Activation>, inputs: [Input],
                                               theta: Float, remainderBatch: Int) throws -> [[EarlyExitResult]] {
    let queue = try EarlyExitQueue(stages, theta: theta, remainderBatch: remainderBatch)
    var out: [EarlyExitBatchResult] = []
    for x in inputs { out += try queue.submit(x) }
    out += try queue.flush()
    precondition(out.map(\.batch) == Array(0..<inputs.count), "early-exit queue returned batches \(out.map(\.batch))")
    return out.map(\.results)
}
