import Tensors

// The VGG family in one place: presets vgg11...vgg19 and their _bn variants (VGGConfig),
// inline config {cfg, batch_norm, width, dropout}, attach points `features.N` (after any module
// of torchvision's `features`; the end of a block is its max pool), units = those modules (VGG),
// then avgpool + classifier.0...5 before the MainNet head (VGGClassifier), torchvision weight
// names (its last layer `classifier.6` is replaced by the MainNet head), compute below.

public struct VGGFamily: MainNetFamily {
    public init() {}
    public var name: String { "vgg" }
    public var inputKind: InputKind { .images }
    public var presetNames: [String] { VGGConfig.presets.map(\.name) }
    public var configHint: String { "{cfg: A|B|D|E, batch_norm, width, dropout}" }

    public func presetConfig(_ arch: String) -> FamilyConfig? {
        VGGConfig.presets.first { $0.name == arch }.map { VGGFamily.fields(VGGConfig(cfg: $0.cfg, batchNorm: $0.batchNorm)) }
    }

    /// The family config of a typed config.
    public static func fields(_ c: VGGConfig) -> FamilyConfig {
        FamilyConfig(["cfg": .string(c.cfg), "batch_norm": .bool(c.batchNorm), "width": .int(c.width),
                      "dropout": .double(c.dropout)])
    }

    public func canonicalConfig(_ config: FamilyConfig) throws -> FamilyConfig { VGGFamily.fields(try vggConfig(config)) }

    public func vggConfig(_ config: FamilyConfig) throws -> VGGConfig {
        try config.requireOnly(["cfg", "batch_norm", "width", "dropout"])
        return VGGConfig(cfg: try config.choice("cfg", VGGConfig.cfgs.keys.sorted()),
                         batchNorm: try config.bool("batch_norm", default: false),
                         width: try config.int("width", default: 64, in: 1...1024),
                         dropout: try config.probability("dropout", default: 0.5))
    }

    public func attachUnit(_ name: String, config: FamilyConfig?) throws -> Int? {
        let tail = name.hasPrefix("features.") ? String(name.dropFirst("features.".count)) : ""
        guard let n = Int(tail), n >= 0, tail == "\(n)" else {
            throw ModelError.badAttachPoint(name, reason: "not a VGG attach point; valid: features.N, after module N of torchvision's features")
        }
        guard let config else { return nil }
        let modules = try vggConfig(config).modules
        guard n < modules.count else {
            let pools = modules.indices.filter { modules[$0].kind == "pool" }.map { "features.\($0)" }
            throw ModelError.badAttachPoint(name, reason: "features has \(modules.count) modules (features.0...features.\(modules.count - 1)); "
                                            + "the blocks end at \(pools.joined(separator: ", "))")
        }
        return n
    }

    /// The end of the second block (its max pool), e.g. features.13 of vgg16_bn.
    public func defaultAttachPoint(_ config: FamilyConfig) throws -> String {
        let modules = try vggConfig(config).modules
        return "features.\(modules.indices.filter { modules[$0].kind == "pool" }[1])"
    }

    public func plan(_ config: FamilyConfig, context: MainNetContext) throws -> BackbonePlan {
        let c = try vggConfig(config)
        var h = context.inputSize, w = context.inputSize, cin = 3
        var costs: [ComputeCost] = [], features: [Int] = []
        for m in c.modules {
            switch m.kind {
            case "conv":
                let params = cin * m.channels * 9
                costs.append(ComputeCost(parameters: params + m.channels, macs: params * h * w))
                cin = m.channels
            case "norm": costs.append(.norm(m.channels))
            case "pool":
                h = convOutputSize(h, kernel: 2, stride: 2, padding: 0); w = convOutputSize(w, kernel: 2, stride: 2, padding: 0)
                costs.append(.zero)
            default: costs.append(.zero)
            }
            features.append(m.channels * h * w)
        }
        // avgpool (7x7) + classifier.0...5, between the last unit and the MainNet head
        let classifier = ComputeCost.linear(c.classifierInput, c.classifierWidth) + .linear(c.classifierWidth, c.classifierWidth)
        let torchvision = costs.reduce(classifier, +) + .linear(c.classifierWidth, 1000)
        return BackbonePlan(unitNames: c.modules.indices.map { "features.\($0)" }, unitCosts: costs, sideFeatures: features,
                            headFeatures: c.classifierWidth, headInputCost: classifier,
                            reference: ("torchvision model with its 1000-class classifier.6", torchvision))
    }

    public func makeBackbone(_ config: FamilyConfig, context: MainNetContext, rng: inout SeededGenerator) throws -> MainNetBackbone {
        let c = try vggConfig(config)
        guard context.inputSize >= 32 else {
            throw ModelError.badInput("input size \(context.inputSize): VGG's five 2x2 max pools need at least 32x32")
        }
        return VGG(config: c, rng: &rng)
    }

    public var weightNaming: WeightNaming { WeightNaming(format: "torchvision state_dict names", ignoredPrefixes: ["classifier.6."]) }
    public var publishedWeights: PublishedWeights {
        PublishedWeights(files: Dictionary(uniqueKeysWithValues: [
            "vgg11_bn-6002323d.pth", "vgg13_bn-abd245e5.pth", "vgg16_bn-6c64b313.pth", "vgg19_bn-c79401a0.pth",
            "vgg16-397923af.pth", "vgg19-dcbb9e9d.pth",
        ].map { ($0, "https://download.pytorch.org/models/\($0)") }))
    }

    public func describe(_ arch: String, config: FamilyConfig, context: MainNetContext, attach: String) throws -> String {
        let c = try vggConfig(config)
        let p = try plan(config, context: context)
        guard let u = try attachUnit(attach, config: config) else { return arch }
        return "\(arch) (cfg \(c.cfg)\(c.batchNorm ? ", batch norm" : ""), width \(c.width)), input \(context.inputSize)x\(context.inputSize), "
            + "SideNet at \(attach) (\(c.modules[u].kind), \(p.sideFeatures[u]) features), "
            + "MainNet head on classifier.5 (\(c.classifierWidth) features; replaces classifier.6)"
    }
}
