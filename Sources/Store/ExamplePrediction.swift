/// One test example's outputs as the runner computes them and the report reads them: a
/// `predictions` row with its logits decoded (see `PredictionRow`).
/// One test example's outputs (a `predictions` row). The `side*` fields are nil for the
/// baseline variant. Confidences are the max class probability (for a single sigmoid logit:
/// max(p, 1 - p)). Logits may be empty when the store did not keep them; the ensemble column
/// is then unavailable.
public struct ExamplePrediction: Sendable, Hashable, Codable {
    public var label: Int
    public var sidePred: Int?
    public var sideConf: Double?
    public var mainPred: Int
    public var mainConf: Double
    public var sideLogits: [Float]?
    public var mainLogits: [Float]

    public init(label: Int, sidePred: Int?, sideConf: Double?, mainPred: Int, mainConf: Double,
                sideLogits: [Float]?, mainLogits: [Float]) {
        self.label = label
        self.sidePred = sidePred
        self.sideConf = sideConf
        self.mainPred = mainPred
        self.mainConf = mainConf
        self.sideLogits = sideLogits
        self.mainLogits = mainLogits
    }
}
