// Compute accounting shared by every MainNet kind (ResNet here, BERT family elsewhere).
//
// Conventions (exact, stated once):
// - `parameters`: learnable scalars only (weights and biases, including BatchNorm/LayerNorm
//   weight and bias); BatchNorm running statistics and `num_batches_tracked` are NOT counted.
//   This is torchvision's `num_params` convention.
// - `macs`: multiply-accumulates of convolutions and linear layers (matmuls) only, per example.
//   BatchNorm, ReLU, pooling, residual additions, softmax are NOT counted.
// - `flops` = 2 * macs (one multiply + one add per MAC).

/// Parameters and forward cost of one part of a network, for one example.
public struct ComputeCost: Equatable, Sendable, CustomStringConvertible {
    /// Learnable scalars (no BatchNorm buffers).
    public var parameters: Int
    /// Multiply-accumulates of conv/linear/matmul per example.
    public var macs: Int
    /// Forward FLOPs per example = 2 * macs.
    public var flops: Int { 2 * macs }

    public init(parameters: Int = 0, macs: Int = 0) {
        self.parameters = parameters
        self.macs = macs
    }

    public static let zero = ComputeCost()

    public static func + (a: ComputeCost, b: ComputeCost) -> ComputeCost {
        ComputeCost(parameters: a.parameters + b.parameters, macs: a.macs + b.macs)
    }

    public static func += (a: inout ComputeCost, b: ComputeCost) { a = a + b }

    /// Cost of `Linear(inFeatures, outFeatures)` applied `positions` times per example
    /// (positions = tokens for text models).
    public static func linear(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, positions: Int = 1) -> ComputeCost {
        ComputeCost(parameters: inFeatures * outFeatures + (bias ? outFeatures : 0),
                    macs: inFeatures * outFeatures * positions)
    }

    /// Cost of a norm layer with affine weight and bias over `features` (no MACs counted).
    public static func norm(_ features: Int) -> ComputeCost {
        ComputeCost(parameters: 2 * features, macs: 0)
    }

    public var description: String { "\(parameters) params, \(macs) MACs (\(flops) FLOPs)" }
}

/// The cost of a MainNet split at one SideNet attach point, per example.
public struct ComputeBreakdown: Equatable, Sendable {
    /// MainNet backbone from the input up to the attach point.
    public var prefix: ComputeCost
    /// The SideNet.
    public var sideNet: ComputeCost
    /// MainNet backbone after the attach point, up to the head's input (pooling, BERT's pooler, VGG's classifier.0-5).
    public var rest: ComputeCost
    /// MainNet head (the paper's MLP head, or torchvision's `fc`).
    public var head: ComputeCost

    public init(prefix: ComputeCost, sideNet: ComputeCost, rest: ComputeCost, head: ComputeCost) {
        self.prefix = prefix
        self.sideNet = sideNet
        self.rest = rest
        self.head = head
    }

    /// The MainNet alone (no SideNet).
    public var mainNet: ComputeCost { prefix + rest + head }
    /// MainNet plus SideNet when no example exits early (the worst case).
    public var withSideNetNoExit: ComputeCost { prefix + sideNet + rest + head }
    /// MainNet plus SideNet when every example exits at the SideNet (the best case).
    public var withSideNetAllExit: ComputeCost { prefix + sideNet }

    /// Average parameters used per example when a fraction `exitRate` exits at the SideNet:
    /// prefix + sideNet + (1 - exitRate) * (rest + head). The paper's compute proxy.
    public func expectedParameters(exitRate: Double) -> Double {
        Double(prefix.parameters + sideNet.parameters) + (1 - exitRate) * Double(rest.parameters + head.parameters)
    }

    /// Average forward FLOPs per example at a given exit rate (same formula with FLOPs).
    public func expectedFLOPs(exitRate: Double) -> Double {
        Double(prefix.flops + sideNet.flops) + (1 - exitRate) * Double(rest.flops + head.flops)
    }
}
