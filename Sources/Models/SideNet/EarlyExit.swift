import Tensors

// Early-exit inference that really skips work: run the MainNet prefix once for the whole
// batch, score the SideNet, gather the examples whose SideNet confidence is < theta into a
// smaller batch and run only those through the MainNet remainder. The prefix is never
// recomputed. Generic over the MainNet kind: a ResNet's activation is a [N, C, H, W] tensor;
// a transformer's may carry hidden states plus an attention mask (its `select` gathers both).

/// The three stages of a MainNet with one SideNet, as closures (all in eval mode).
public struct EarlyExitStages<Input, Activation> {
    /// Input batch -> activation at the attach point (MainNet prefix).
    public var prefix: (Input) throws -> Activation
    /// Activation -> SideNet logits [N, K] (K = 1 for a sigmoid output).
    public var side: (Activation) throws -> Tensor
    /// Activation -> MainNet logits [N, K] (MainNet remainder + head).
    public var rest: (Activation) throws -> Tensor
    /// The sub-batch made of the given example rows, in that order.
    public var select: (Activation, [Int]) throws -> Activation
    /// The batch made of several sub-batches' examples, in order (used by `EarlyExitQueue`;
    /// nil: the queue can only run the remainder on one sub-batch at a time and fails otherwise).
    public var concat: (([Activation]) throws -> Activation)?

    public init(prefix: @escaping (Input) throws -> Activation,
                side: @escaping (Activation) throws -> Tensor,
                rest: @escaping (Activation) throws -> Tensor,
                select: @escaping (Activation, [Int]) throws -> Activation,
                concat: (([Activation]) throws -> Activation)? = nil) {
        self.prefix = prefix
        self.side = side
        self.rest = rest
        self.select = select
        self.concat = concat
    }
}

extension EarlyExitStages where Activation == Tensor {
    /// Stages whose activation is one tensor with examples along the first dimension.
    public init(prefix: @escaping (Input) throws -> Tensor,
                side: @escaping (Tensor) throws -> Tensor,
                rest: @escaping (Tensor) throws -> Tensor) {
        self.init(prefix: prefix, side: side, rest: rest, select: { a, idx in a.gatherRows(idx) },
                  concat: { parts in Tensor.concatRows(parts) })
    }
}

/// Which network answered an example.
public enum ExitTaken: String, Sendable, Equatable {
    case side
    case main
}

/// The early-exit outcome for one example.
public struct EarlyExitResult: Equatable, Sendable {
    public var exit: ExitTaken
    /// Class answered (by the SideNet when `exit == .side`, else by the MainNet).
    public var predicted: Int
    /// Confidence of the answering network (max softmax, or max(p, 1-p) for one sigmoid output).
    public var confidence: Float
    /// SideNet confidence (the quantity compared with theta).
    public var sideConfidence: Float
    public var sideLogits: [Float]
    /// nil when the example exited at the SideNet (the MainNet remainder never ran for it).
    public var mainLogits: [Float]?
}

/// Runs early-exit inference on one batch: an example exits at the SideNet when its SideNet
/// confidence >= `theta` (theta 0: everyone exits; theta > 1: nobody does).
/// The MainNet remainder runs once, on the sub-batch of the remaining examples (skipped when
/// empty). Results are in input order.
public func earlyExit<Input, Activation>(_ stages: EarlyExitStages<Input, Activation>, input: Input,
                                         theta: Float) throws -> [EarlyExitResult] {
    let activation = try stages.prefix(input)
    var (results, continuing) = try sideResults(stages, activation: activation, theta: theta)
    if continuing.isEmpty { return results }
    let sub = continuing.count == results.count ? activation : try stages.select(activation, continuing)
    let mainLogits = try stages.rest(sub)
    precondition(mainLogits.rank == 2 && mainLogits.shape[0] == continuing.count,
                 "MainNet logits must be [\(continuing.count), K], got \(mainLogits.shape)")
    for (r, i) in continuing.enumerated() { setMainAnswer(&results[i], logits: mainLogits, row: r) }
    return results
}

/// SideNet answers for every example of `activation` (all marked `.side`) and the rows whose
/// SideNet confidence is below theta (they continue through the remainder), ascending.
func sideResults<Input, Activation>(_ stages: EarlyExitStages<Input, Activation>, activation: Activation,
                                    theta: Float) throws -> (results: [EarlyExitResult], continuing: [Int]) {
    let sideLogits = try stages.side(activation)
    precondition(sideLogits.rank == 2, "SideNet logits must be [N, K], got \(sideLogits.shape)")
    let n = sideLogits.shape[0], k = sideLogits.shape[1]
    let sidePreds = ClassPrediction.rows(sideLogits)
    let results = (0..<n).map { i in
        EarlyExitResult(exit: .side, predicted: sidePreds[i].predicted, confidence: sidePreds[i].confidence,
                        sideConfidence: sidePreds[i].confidence,
                        sideLogits: Array(sideLogits.data[(i * k)..<(i * k + k)]), mainLogits: nil)
    }
    return (results, (0..<n).filter { !(sidePreds[$0].confidence >= theta) })
}

/// Marks `result` as answered by the MainNet with row `row` of logits [M, K].
func setMainAnswer(_ result: inout EarlyExitResult, logits: Tensor, row r: Int) {
    let km = logits.shape[1]
    let row = Array(logits.data[(r * km)..<(r * km + km)])
    let p = ClassPrediction(logits: row)
    result.exit = .main
    result.predicted = p.predicted
    result.confidence = p.confidence
    result.mainLogits = row
}
