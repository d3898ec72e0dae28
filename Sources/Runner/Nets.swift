import Foundation
import Layers
import Models
import Specs
import Tensors
import WeightIO

/// What the runner needs from a MainNet with one SideNet, whatever its family.
/// Example indices address `PreparedData`'s pool.
protocol Net: AnyObject {
    /// Backbone + `head.*` + `sidenet.*`: the whole state under the harness's checkpoint names.
    var module: Module { get }
    var head: MLPHead { get }
    var side: MLPHead { get }
    /// Backbone parameters (frozen in the heads and sidenet regimes).
    var backboneParameters: [(String, Parameter)] { get }
    /// Parameters and FLOPs per example split at the attach point.
    var breakdown: ComputeBreakdown { get }
    /// Eval-mode backbone pass: the SideNet input (flattened) and the head input.
    func features(_ indices: [Int], data: PreparedData) throws -> (attach: Tensor, head: Tensor)
    /// Whole network; `withSide` false skips the SideNet (baseline variant).
    func forward(_ indices: [Int], data: PreparedData, mode: Mode, withSide: Bool) throws -> (main: Tensor, side: Tensor?)
    /// Backward of the last training `forward`, given dL/dlogits (the side one already scaled by alpha).
    func backward(main: Tensor, side: Tensor?)
    /// Re-seeds training randomness inside the network (dropout) from (seed, epoch).
    func beginEpoch(_ epoch: Int, seed: Int)
    /// The model itself (early-exit timing, evaluation).
    var model: SideNetModel { get }
}

/// A Module made of named children (checkpoint key = child prefix + "." + child key).
final class CompositeModule: Module {
    let children: [(String, Module)]
    init(_ children: [(String, Module)]) { self.children = children }
    func namedParameters() -> [(String, Parameter)] { children.flatMap { scoped($0.0, $0.1.namedParameters()) } }
    func namedBuffers() -> [(String, Buffer)] { children.flatMap { scoped($0.0, $0.1.namedBuffers()) } }
}

/// Builds the network a spec describes, with weights loaded (or random init for `weights: null`).
/// Returns the net and warnings about deliberately ignored weight-file keys.
/// `headLoaded`: the weights were a harness checkpoint that also held the MainNet head (`head.*`).
func buildNet(_ spec: ExperimentSpec, data: PreparedData, seed: Int, baseDir: URL) throws -> (Net, [String], headLoaded: Bool) {
    let family = spec.mainnet.arch.family
    let config: FamilyConfig
    switch spec.mainnet.resolvedConfig {
    case .inline(let c)?: config = c
    case .path(let p)?: config = try family.readConfigFile(try readConfigFile(resolve(p, baseDir)), file: resolve(p, baseDir).path)
    case nil: throw RunnerError.invalid("\(spec.name): arch \(spec.mainnet.arch.rawValue) needs mainnet.config")
    }
    var context = MainNetContext(inputSize: spec.data.inputSize ?? 32, sequenceLength: max(1, data.meanTestLength),
                                 vocabSize: try vocabularySize(spec, data: data, baseDir: baseDir), outputs: data.outputs)
    context.weightsFollow = spec.mainnet.weights != nil  // every backbone weight is loaded below
    let model = try family.makeModel(config, context: context, attach: [spec.sidenet.attach], hidden: spec.sidenet.hidden,
                                     headHidden: spec.mainnet.head.hidden, seed: UInt64(seed))
    var warnings: [String] = []
    var headLoaded = false
    if let w = spec.mainnet.weights {
        let url = try WeightsCatalog.require(w, arch: spec.mainnet.arch, baseDir: baseDir)
        let stored = try WeightFile.open(url)  // safetensors: streamed into the parameters, no copy held
        if stored["head.fc1.weight"] != nil {
            // a harness checkpoint: backbone and the MainNet head, strictly by name
            try loadStateDict(into: CompositeModule([("", model.backbone), ("head", model.head)]), streamed: stored,
                              source: url.lastPathComponent,
                              options: StateDictLoadOptions(ignoredPrefixes: ["sidenet.", "sidenets.", "optim."]))
            headLoaded = true
        } else {
            let report = try model.loadPretrained(stored, source: url.lastPathComponent)
            warnings += model.weightNaming.warnings(report, source: url.lastPathComponent)
        }
    }
    return (SideNetNet(model), warnings, headLoaded)
}

private func readConfigFile(_ url: URL) throws -> Data {
    do { return try Data(contentsOf: url) } catch {
        throw RunnerError.missingFile(path: url.path, what: "config.json", hint: "put the model's config.json there")
    }
}

/// Lines of the spec's vocab.txt (text models; nil without one): the vocabulary size when the
/// config leaves `vocab_size` open.
private func vocabularySize(_ spec: ExperimentSpec, data: PreparedData, baseDir: URL) throws -> Int? {
    guard let v = spec.mainnet.vocab else {
        guard case .text(let pool) = data.source else { return nil }
        return Int(pool.ids.flatMap { $0 }.max() ?? 0) + 1
    }
    let text = try String(contentsOf: resolve(v, baseDir), encoding: .utf8)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
    if text.hasSuffix("\n") { lines -= 1 }
    return lines
}

extension PreparedData {
    /// The MainNet input of the examples `indices` (images or token ids with their mask).
    func mainNetInput(_ indices: [Int]) throws -> MainNetActivation {
        switch source {
        case .images: return MainNetActivation(images: images(indices))
        case .text:
            let t = try tokens(indices)
            return MainNetActivation(tokens: try TokenBatch(ids: t.ids, mask: t.mask))
        }
    }
}

/// The runner's view of a `SideNetModel` with one SideNet.
final class SideNetNet: Net {
    let model: SideNetModel
    init(_ model: SideNetModel) { self.model = model }

    var module: Module { model }
    var head: MLPHead { model.head }
    var side: MLPHead { model.sideNets[0] }
    var backboneParameters: [(String, Parameter)] { model.backbone.namedParameters() }
    var breakdown: ComputeBreakdown { model.computeBreakdown() }

    func features(_ indices: [Int], data: PreparedData) throws -> (attach: Tensor, head: Tensor) {
        defer { model.clearCaches() }
        let (attach, feats) = try model.cacheFeatures(try data.mainNetInput(indices), mode: .eval)
        return (attach[0], feats)
    }

    func forward(_ indices: [Int], data: PreparedData, mode: Mode, withSide: Bool) throws -> (main: Tensor, side: Tensor?) {
        let x = try data.mainNetInput(indices)
        defer { if mode == .eval { model.clearCaches() } }
        if withSide {
            let (main, side) = try model.forwardAll(x, mode: mode)
            return (main, side[0])
        }
        return (try model.forwardMain(x, mode: mode), nil)
    }

    func backward(main: Tensor, side: Tensor?) {
        if let side {
            model.backwardAll(main: main, side: [side])
        } else {
            model.backwardMain(main)
        }
        model.clearCaches()
    }

    func beginEpoch(_ epoch: Int, seed: Int) {
        model.backbone.reseedDropout(SeededGenerator(seed: UInt64(seed)).derived("dropout-epoch\(epoch)"))
    }
}
