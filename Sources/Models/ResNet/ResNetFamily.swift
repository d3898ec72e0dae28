import Layers
import Tensors

// The ResNet family in one place: presets (ResNetConfig), inline config {blocks, width, block},
// attach points layerS / layerS.B (ResNetAttachPoint), units = stem + residual blocks (ResNet),
// torchvision weight names (its `fc.*` is replaced by the MainNet head), compute (ResNetPlan).

public struct ResNetFamily: MainNetFamily {
    public init() {}
    public var name: String { "resnet" }
    public var inputKind: InputKind { .images }
    public var presetNames: [String] { ResNetConfig.presetNames }
    public var configHint: String { "{blocks, width, block}" }

    public func presetConfig(_ arch: String) -> FamilyConfig? {
        ResNetConfig.preset(arch).map { ResNetFamily.fields($0) }
    }

    /// The family config of a typed config (all fields given).
    public static func fields(_ c: ResNetConfig) -> FamilyConfig {
        FamilyConfig(["blocks": .list(c.blocks.map { .int($0) }), "width": .int(c.width), "block": .string(c.block.rawValue)])
    }

    public func canonicalConfig(_ config: FamilyConfig) throws -> FamilyConfig {
        ResNetFamily.fields(try resNetConfig(config, outputs: 1))
    }

    /// The torchvision-layout config with `outputs` classes.
    public func resNetConfig(_ config: FamilyConfig, outputs: Int) throws -> ResNetConfig {
        try config.requireOnly(["blocks", "width", "block"])
        let blocks = try config.ints("blocks", count: 4...4, each: 1...64)
        let width = try config.int("width", default: 64, in: 1...1024)
        let block = try config.choice("block", ResNetBlockKind.allCases.map(\.rawValue))
        return ResNetConfig(block: ResNetBlockKind(rawValue: block)!, blocks: blocks, width: width, numClasses: outputs)
    }

    public func attachUnit(_ name: String, config: FamilyConfig?) throws -> Int? {
        let valid = "valid: layer1, layer2, layer3, layer4 (after a stage) or layerS.B (after block B of stage S, 0-based)"
        let point: ResNetAttachPoint
        do { point = try ResNetAttachPoint(parsing: name) } catch {
            throw ModelError.badAttachPoint(name, reason: "not a ResNet attach point; \(valid)")
        }
        guard point.description == name else { throw ModelError.badAttachPoint(name, reason: "not a ResNet attach point; \(valid)") }
        guard let config else { return nil }
        let c = try resNetConfig(config, outputs: 1)
        try point.validate(in: c)
        return point.blocksBefore(in: c)
    }

    public func defaultAttachPoint(_ config: FamilyConfig) throws -> String { "layer1" }

    public func plan(_ config: FamilyConfig, context: MainNetContext) throws -> BackbonePlan {
        let c = try resNetConfig(config, outputs: context.outputs)
        let p = ResNetPlan(config: c, height: context.inputSize, width: context.inputSize)
        var tv = c
        tv.numClasses = 1000
        return BackbonePlan(unitNames: p.units.map(\.name), unitCosts: p.units.map(\.cost),
                            sideFeatures: p.units.map { $0.outputShape.reduce(1, *) }, headFeatures: c.featureChannels,
                            reference: ("torchvision model with its 1000-class fc",
                                        ResNetPlan(config: tv, height: context.inputSize, width: context.inputSize).total))
    }

    public func makeBackbone(_ config: FamilyConfig, context: MainNetContext, rng: inout SeededGenerator) throws -> MainNetBackbone {
        guard context.inputSize >= 1 else { throw ModelError.badInput("input size \(context.inputSize)") }
        return ResNet(config: try resNetConfig(config, outputs: context.outputs), includeFC: false, rng: &rng)
    }

    public var weightNaming: WeightNaming { WeightNaming(format: "torchvision state_dict names", ignoredPrefixes: ["fc."]) }
    public var publishedWeights: PublishedWeights {
        PublishedWeights(files: Dictionary(uniqueKeysWithValues: [
            "resnet18-f37072fd.pth", "resnet34-b627a593.pth", "resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth",
            "resnet101-63fe2227.pth", "resnet152-394f9c45.pth", "resnet152-f82ba261.pth",
        ].map { ($0, "https://download.pytorch.org/models/\($0)") }))
    }

    public func describe(_ arch: String, config: FamilyConfig, context: MainNetContext, attach: String) throws -> String {
        let c = try resNetConfig(config, outputs: context.outputs)
        let p = ResNetPlan(config: c, height: context.inputSize, width: context.inputSize)
        let shape = p.activationShape(try ResNetAttachPoint(parsing: attach))
        return "\(arch) (\(c.block.rawValue), blocks \(c.blocks), width \(c.width)), input \(context.inputSize)x\(context.inputSize), "
            + "SideNet at \(attach) (activation \(shape) -> \(shape.reduce(1, *)) features)"
    }
}

extension ResNet: ConvBackbone {
    public func headInput(_ a: MainNetActivation, mode: Mode) -> Tensor { pool(a.tensor) }
    public func headInputBackward(_ d: Tensor) -> Tensor { backwardPool(d) }
}
