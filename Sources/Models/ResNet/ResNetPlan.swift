// Analytic layout of a ResNet for a given input size: output shapes, parameters and MACs of
// each unit (stem, every residual block, classifier), computed from the config alone (no
// weights allocated). Follows torchvision's resnet.py exactly; tests hold it equal to the
// built modules' parameter counts and to torchvision's published totals.

/// Output size of a convolution or pooling window along one axis (PyTorch floor rule).
@inline(__always)
public func convOutputSize(_ input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
    (input + 2 * padding - kernel) / stride + 1
}

/// One unit of a ResNet: the stem or one residual block.
public struct ResNetPlanUnit: Equatable, Sendable {
    /// "stem" or the block's module name ("layer2.0").
    public var name: String
    /// Output shape per example [C, H, W].
    public var outputShape: [Int]
    public var cost: ComputeCost
}

/// The units of a ResNet backbone for one input size, plus its `fc` classifier.
public struct ResNetPlan: Equatable, Sendable {
    public let config: ResNetConfig
    /// Input height and width.
    public let inputSize: (height: Int, width: Int)
    /// stem, then every block in order (layer1.0, layer1.1, ..., layer4.last).
    public let units: [ResNetPlanUnit]

    public static func == (a: ResNetPlan, b: ResNetPlan) -> Bool {
        a.config == b.config && a.inputSize == b.inputSize && a.units == b.units
    }

    public init(config: ResNetConfig, height: Int, width: Int) {
        self.config = config
        self.inputSize = (height, width)
        var units: [ResNetPlanUnit] = []
        func conv(_ cin: Int, _ cout: Int, _ k: Int, _ s: Int, _ p: Int, _ h: inout Int, _ w: inout Int) -> ComputeCost {
            h = convOutputSize(h, kernel: k, stride: s, padding: p)
            w = convOutputSize(w, kernel: k, stride: s, padding: p)
            let params = cout * cin * k * k
            return ComputeCost(parameters: params, macs: params * h * w)
        }
        // stem: conv1 7x7/2 p3, bn1, relu, maxpool 3x3/2 p1
        var h = height, w = width
        let stem = conv(3, config.width, 7, 2, 3, &h, &w) + .norm(config.width)
        h = convOutputSize(h, kernel: 3, stride: 2, padding: 1)
        w = convOutputSize(w, kernel: 3, stride: 2, padding: 1)
        units.append(ResNetPlanUnit(name: "stem", outputShape: [config.width, h, w], cost: stem))
        for s in 0..<4 {
            let p = config.planes(stage: s), out = config.outChannels(stage: s)
            for b in 0..<config.blocks[s] {
                let cin = config.inChannels(stage: s, block: b)
                let st = b == 0 ? config.stride(stage: s) : 1
                var cost = ComputeCost.zero
                var bh = h, bw = w
                switch config.block {
                case .basic:
                    cost += conv(cin, p, 3, st, 1, &bh, &bw) + .norm(p)
                    cost += conv(p, p, 3, 1, 1, &bh, &bw) + .norm(p)
                case .bottleneck:
                    cost += conv(cin, p, 1, 1, 0, &bh, &bw) + .norm(p)
                    cost += conv(p, p, 3, st, 1, &bh, &bw) + .norm(p)
                    cost += conv(p, out, 1, 1, 0, &bh, &bw) + .norm(out)
                }
                if config.hasDownsample(stage: s, block: b) {
                    var dh = h, dw = w
                    cost += conv(cin, out, 1, st, 0, &dh, &dw) + .norm(out)
                    precondition(dh == bh && dw == bw)
                }
                h = bh; w = bw
                units.append(ResNetPlanUnit(name: "layer\(s + 1).\(b)", outputShape: [out, h, w], cost: cost))
            }
        }
        self.units = units
    }

    /// The backbone (stem + all blocks, no classifier).
    public var backbone: ComputeCost { units.reduce(.zero) { $0 + $1.cost } }
    /// torchvision's `fc`: Linear(featureChannels, numClasses).
    public var fc: ComputeCost { .linear(config.featureChannels, config.numClasses) }
    /// The whole torchvision network (backbone + fc).
    public var total: ComputeCost { backbone + fc }

    /// Number of units (stem + blocks) before and including the attach point.
    public func unitCount(upTo attach: ResNetAttachPoint) -> Int { attach.blocksBefore(in: config) + 1 }

    /// Backbone cost from the input to the attach point.
    public func prefix(_ attach: ResNetAttachPoint) -> ComputeCost {
        units[0..<unitCount(upTo: attach)].reduce(.zero) { $0 + $1.cost }
    }

    /// Backbone cost after the attach point (up to the pooled features).
    public func rest(_ attach: ResNetAttachPoint) -> ComputeCost {
        units[unitCount(upTo: attach)...].reduce(.zero) { $0 + $1.cost }
    }

    /// Activation shape per example [C, H, W] at the attach point.
    public func activationShape(_ attach: ResNetAttachPoint) -> [Int] {
        units[unitCount(upTo: attach) - 1].outputShape
    }

    /// The split used by the paper's model: SideNet = MLPHead(flattened activation -> hidden ->
    /// sideOutputs), MainNet head = MLPHead(featureChannels -> hidden -> numClasses).
    public func breakdown(attach: ResNetAttachPoint, hidden: Int = 32, sideOutputs: Int? = nil,
                          headOutputs: Int? = nil) -> ComputeBreakdown {
        let feats = activationShape(attach).reduce(1, *)
        return ComputeBreakdown(
            prefix: prefix(attach),
            sideNet: MLPHeadShape(inFeatures: feats, hidden: hidden, outputs: sideOutputs ?? config.numClasses).cost,
            rest: rest(attach),
            head: MLPHeadShape(inFeatures: config.featureChannels, hidden: hidden, outputs: headOutputs ?? config.numClasses).cost)
    }
}

/// Sizes of an `MLPHead` (Linear -> BatchNorm1d -> ReLU -> Linear), for accounting.
public struct MLPHeadShape: Equatable, Sendable {
    public var inFeatures: Int
    public var hidden: Int
    public var outputs: Int
    public init(inFeatures: Int, hidden: Int = 32, outputs: Int) {
        self.inFeatures = inFeatures
        self.hidden = hidden
        self.outputs = outputs
    }
    /// fc1 + bn + fc2 parameters; MACs of fc1 and fc2.
    public var cost: ComputeCost { .linear(inFeatures, hidden) + .norm(hidden) + .linear(hidden, outputs) }
}
