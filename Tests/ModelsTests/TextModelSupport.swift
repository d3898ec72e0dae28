import Foundation
import Layers
import Models
import Tensors

/// A text `SideNetModel` of the fixture `model` ("bert" / "distilbert"), built by its family from
/// the fixture's config.json, with the fixture's transformers weights in the backbone.
func fixtureTextModel(_ model: String, attach: [String], hidden: Int = 32, outputs: Int = 1, seed: UInt64 = 3) throws -> SideNetModel {
    let data = try Data(contentsOf: textFixture(model, "config.json"))
    guard let family = MainNetRegistry.families.first(where: { $0.readsConfigFiles && $0.describesConfigFile(data) }) else {
        throw ModelError.badInput("no family reads \(model)/config.json")
    }
    let m = try family.makeModel(try family.readConfigFile(data, file: "config.json"), context: MainNetContext(outputs: outputs),
                                 attach: attach, hidden: hidden, seed: seed)
    let report = try m.loadPretrained(from: textFixture(model, "model.safetensors"))
    precondition(report.ignoredKeys.isEmpty, "fixture weights hold task heads: \(report.ignoredKeys)")
    return m
}

/// The batch sizes the remainder of early-exit stages ran on.
final class RestLog {
    var rows: [Int] = []
}

/// Early-exit stages whose remainder records the rows it ran on in `log`.
func countingRest(_ stages: EarlyExitStages<MainNetActivation, MainNetActivation>, into log: RestLog)
    -> EarlyExitStages<MainNetActivation, MainNetActivation> {
    var counted = stages
    counted.rest = { a in log.rows.append(a.batchSize); return try stages.rest(a) }
    return counted
}
