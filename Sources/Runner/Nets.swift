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
}

extension Net {
    func beginEpoch(_ epoch: Int, seed: Int) {}
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
    let config = spec.mainnet.resolvedConfig
    switch config {
    case .resnet(let r)?:
        let rc = ResNetConfig(block: r.block == .basic ? .basic : .bottleneck, blocks: r.blocks, width: r.width,
                              numClasses: data.outputs)
        let side = try ResNetAttachPoint(parsing: spec.sidenet.attach)
        var rng = SeededGenerator(seed: UInt64(seed))
        let size = spec.data.inputSize ?? 32
        let model = try SideNetResNet(config: rc, inputHeight: size, inputWidth: size, attach: [side],
                                      hidden: spec.sidenet.hidden, headHidden: spec.mainnet.head.hidden, rng: &rng)
        var warnings: [String] = []
        var headLoaded = false
        if let w = spec.mainnet.weights {
            let url = try WeightsCatalog.require(w, arch: spec.mainnet.arch, baseDir: baseDir)
            let stored = try WeightFile.load(url)
            if stored["head.fc1.weight"] != nil {
                // a harness checkpoint: backbone and the MainNet head, strictly by name
                try loadStateDict(into: CompositeModule([("", model.backbone), ("head", model.head)]), stored: stored,
                                  source: url.lastPathComponent,
                                  options: StateDictLoadOptions(ignoredPrefixes: ["sidenet.", "sidenets.", "optim."]))
                headLoaded = true
            } else {
                let report = try model.loadTorchvisionBackbone(stored, source: url.lastPathComponent)
                if let warning = report.warning { warnings.append(warning) }
            }
        }
        return (ResNetNet(model), warnings, headLoaded)
    case .bert, .distilbert, .path, nil:
        return try buildTextNet(spec, data: data, seed: seed, baseDir: baseDir)
    }
}

private func buildTextNet(_ spec: ExperimentSpec, data: PreparedData, seed: Int, baseDir: URL) throws -> (Net, [String], headLoaded: Bool) {
    guard case .text(let pool) = data.source else { throw RunnerError.invalid("\(spec.name): text model on image data") }
    let vocabSize = try vocabularySize(spec, baseDir: baseDir, fallback: Int(pool.ids.flatMap { $0 }.max() ?? 0) + 1)
    let encoder: TransformerEncoder
    switch (spec.mainnet.arch.family, spec.mainnet.resolvedConfig) {
    case (.bert, .bert(let b)?):
        encoder = BertModel(config: try BertConfig(json: Data(b.hfConfigJSON(vocabSize: vocabSize).utf8)), seed: UInt64(seed))
    case (.distilbert, .distilbert(let d)?):
        encoder = DistilBertModel(config: try DistilBertConfig(json: Data(d.hfConfigJSON(vocabSize: vocabSize).utf8)), seed: UInt64(seed))
    case (.bert, .path(let p)?):
        encoder = BertModel(config: try BertConfig(contentsOf: resolve(p, baseDir)), seed: UInt64(seed))
    case (.distilbert, .path(let p)?):
        encoder = DistilBertModel(config: try DistilBertConfig(contentsOf: resolve(p, baseDir)), seed: UInt64(seed))
    default:
        throw RunnerError.invalid("\(spec.name): mainnet.config does not describe a \(spec.mainnet.arch.rawValue) model")
    }
    let attach = try encoder.attachLayer(named: spec.sidenet.attach)
    var warnings: [String] = []
    var headLoaded = false
    let classifier = TransformerClassifier(encoder: encoder, headHidden: spec.mainnet.head.hidden,
                                           outputs: data.outputs, seed: UInt64(seed))
    if let w = spec.mainnet.weights {
        let url = try WeightsCatalog.require(w, arch: spec.mainnet.arch, baseDir: baseDir)
        let stored = try WeightFile.load(url)
        if stored["head.fc1.weight"] != nil {
            // a harness checkpoint: encoder and the MainNet head, strictly by name
            try loadStateDict(into: classifier, stored: stored, source: url.lastPathComponent,
                              options: StateDictLoadOptions(ignoredPrefixes: ["sidenet.", "sidenets.", "optim."]))
            headLoaded = true
        } else {
            let ignored = try encoder.loadWeights(stored, source: url.lastPathComponent)
            if !ignored.isEmpty {
                warnings.append("\(url.lastPathComponent): ignored \(ignored.count) task-head keys (\(ignored.prefix(4).joined(separator: ", "))\(ignored.count > 4 ? ", …" : ""))")
            }
        }
    }
    var rng = SeededGenerator(seed: UInt64(seed)).derived("sidenet")
    let side = MLPHead(inFeatures: encoder.hiddenSize, hidden: spec.sidenet.hidden, outputs: data.outputs, rng: &rng)
    let length = max(1, data.meanTestLength)
    let breakdown: ComputeBreakdown
    if let bert = encoder as? BertModel {
        breakdown = bert.config.computeBreakdown(attachLayer: attach, length: length, sideHidden: spec.sidenet.hidden,
                                                 headHidden: spec.mainnet.head.hidden, outputs: data.outputs)
    } else {
        breakdown = (encoder as! DistilBertModel).config.computeBreakdown(attachLayer: attach, length: length,
                                                                         sideHidden: spec.sidenet.hidden,
                                                                         headHidden: spec.mainnet.head.hidden,
                                                                         outputs: data.outputs)
    }
    return (TextNet(classifier: classifier, side: side, attach: attach, breakdown: breakdown), warnings, headLoaded)
}

private func vocabularySize(_ spec: ExperimentSpec, baseDir: URL, fallback: Int) throws -> Int {
    guard let v = spec.mainnet.vocab else { return fallback }
    let text = try String(contentsOf: resolve(v, baseDir), encoding: .utf8)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
    if text.hasSuffix("\n") { lines -= 1 }
    return lines
}

final class ResNetNet: Net {
    let model: SideNetResNet
    init(_ model: SideNetResNet) { self.model = model }

    var module: Module { model }
    var head: MLPHead { model.head }
    var side: MLPHead { model.sideNets[0] }
    var backboneParameters: [(String, Parameter)] { model.backbone.namedParameters() }
    var breakdown: ComputeBreakdown { model.computeBreakdown() }

    func features(_ indices: [Int], data: PreparedData) throws -> (attach: Tensor, head: Tensor) {
        let (attach, feats) = model.cacheFeatures(data.images(indices), mode: .eval)
        model.clearCaches()
        let a = attach[0]
        return (a.reshaped([a.shape[0], a.count / a.shape[0]]), feats)
    }

    func forward(_ indices: [Int], data: PreparedData, mode: Mode, withSide: Bool) throws -> (main: Tensor, side: Tensor?) {
        let x = data.images(indices)
        if withSide {
            let (main, side) = model.forwardAll(x, mode: mode)
            if mode == .eval { model.clearCaches() }
            return (main, side[0])
        }
        let main = model.forwardRest(model.forwardPrefix(x, mode: mode), mode: mode)
        if mode == .eval { model.clearCaches() }
        return (main, nil)
    }

    func backward(main: Tensor, side: Tensor?) {
        if let side {
            model.backwardAll(main: main, side: [side])
        } else {
            _ = model.backwardPrefix(model.backwardRest(main))
        }
        model.clearCaches()
    }
}

final class TextNet: Net {
    let classifier: TransformerClassifier
    let side: MLPHead
    let attach: Int
    let breakdown: ComputeBreakdown
    let module: Module
    private var pendingLength = 0

    init(classifier: TransformerClassifier, side: MLPHead, attach: Int, breakdown: ComputeBreakdown) {
        self.classifier = classifier
        self.side = side
        self.attach = attach
        self.breakdown = breakdown
        module = CompositeModule([("", classifier.encoder), ("head", classifier.head), ("sidenet", side)])
    }

    var head: MLPHead { classifier.head }
    var backboneParameters: [(String, Parameter)] { classifier.encoder.namedParameters() }

    private func batch(_ indices: [Int], _ data: PreparedData) throws -> TokenBatch {
        let t = try data.tokens(indices)
        return try TokenBatch(ids: t.ids, mask: t.mask)
    }

    func features(_ indices: [Int], data: PreparedData) throws -> (attach: Tensor, head: Tensor) {
        let enc = classifier.encoder
        let b = try batch(indices, data)
        let h = try enc.forwardPrefix(b, throughLayer: attach, mode: .eval, cache: false)
        let f = try enc.forwardRest(h, mask: b.mask, fromLayer: attach + 1, mode: .eval, cache: false)
        return (TransformerEncoder.cls(h), f)
    }

    func forward(_ indices: [Int], data: PreparedData, mode: Mode, withSide: Bool) throws -> (main: Tensor, side: Tensor?) {
        let enc = classifier.encoder
        let b = try batch(indices, data)
        let train = mode == .train
        let h = try enc.forwardPrefix(b, throughLayer: attach, mode: mode, cache: train)
        pendingLength = b.length
        let s = withSide ? side.forward(TransformerEncoder.cls(h), mode: mode) : nil
        let f = try enc.forwardRest(h, mask: b.mask, fromLayer: attach + 1, mode: mode, cache: train)
        return (classifier.head.forward(f, mode: mode), s)
    }

    func beginEpoch(_ epoch: Int, seed: Int) {
        classifier.encoder.rng = SeededGenerator(seed: UInt64(seed)).derived("dropout-epoch\(epoch)")
    }

    func backward(main: Tensor, side dSide: Tensor?) {
        let enc = classifier.encoder
        var dh = enc.backwardRest(classifier.head.backward(main))
        if let dSide {
            let dcls = TransformerEncoder.clsGradient(side.backward(dSide), length: pendingLength)
            for i in 0..<dh.count { dh.data[i] += dcls.data[i] }
        }
        enc.backwardPrefix(dh)
    }
}
