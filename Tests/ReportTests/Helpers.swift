import Foundation
import Report

/// Small deterministic generator for test data (splitmix64).
struct TestRNG {
    var state: UInt64
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }
}

/// Logits whose softmax gives `conf` to `pred` and spreads the rest evenly (K > 2), or a
/// single sigmoid logit for K == 2.
func logits(pred: Int, conf: Double, classes: Int) -> [Float] {
    if classes == 2 {
        let p1 = pred == 1 ? conf : 1 - conf
        return [Float(log(p1 / (1 - p1)))]
    }
    let rest = (1 - conf) / Double(classes - 1)
    return (0..<classes).map { Float(log($0 == pred ? conf : rest)) }
}

/// A plausible run: a roughly calibrated SideNet and an over-confident, more accurate MainNet.
func syntheticRun(experiment: String, variant: Variant, seed: Int, n: Int, classes: Int,
                  compute: Compute, sideSkill: Double = 0.0, mainSkill: Double = 0.0) -> RunResult {
    var rng = TestRNG(state: experiment.utf8.reduce(UInt64(seed) &* 7919) { $0 &* 31 &+ UInt64($1) })
    let floorConf = classes == 2 ? 0.5 : 0.15
    var preds = [Prediction]()
    for _ in 0..<n {
        let label = Int(rng.next() * Double(classes)) % classes
        let sc = floorConf + (1 - floorConf) * rng.next() * 0.999
        let sideRight = rng.next() < min(1, sc + sideSkill)
        let sp = sideRight ? label : (label + 1) % classes
        let mc = 1 - (1 - floorConf) * pow(rng.next(), 6) * 0.999
        let mainRight = rng.next() < min(1, mc - 0.02 + mainSkill)
        let mp = mainRight ? label : (label + 1 + Int(rng.next() * Double(classes - 1))) % classes
        let isSide = variant == .sidenet
        preds.append(Prediction(label: label, sidePred: isSide ? sp : nil, sideConf: isSide ? sc : nil,
                                mainPred: mp, mainConf: mc,
                                sideLogits: isSide ? logits(pred: sp, conf: sc, classes: classes) : nil,
                                mainLogits: logits(pred: mp, conf: mc, classes: classes)))
    }
    return RunResult(experiment: experiment, variant: variant, seed: seed, numClasses: classes,
                     compute: compute, predictions: preds)
}

/// ResNet-like compute (params from formats.md 10-class heads; FLOPs rough).
func resnetCompute(params: Int, gflops: Double) -> Compute {
    Compute(paramsPrefix: 157_504, paramsSideNet: 524_714, paramsMainNet: params,
            flopsPrefix: 170_000_000, flopsSideNet: 1_050_000,
            flopsMainNet: Int(gflops * 1e9))
}

func resnetInfo(_ name: String, _ label: String, synthetic: Bool,
                side: MeanStd? = nil, base: MeanStd? = nil,
                sideECE: MeanStd? = nil, mainECE: MeanStd? = nil) -> ExperimentInfo {
    ExperimentInfo(name: name, label: label, figure: 2, synthetic: synthetic,
                   paper: PaperNumbers(table2SideNet: side, table2Baseline: base,
                                       table1SideNetECE: sideECE, table1MainNetECE: mainECE))
}

func tempDir(_ tag: String) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("sidenet-report-\(tag)-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
