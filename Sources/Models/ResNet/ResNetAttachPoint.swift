// Where a SideNet reads a ResNet: after a whole stage (`layer1`, the paper's "block 1") or
// after one residual block (`layer2.0`).

/// A SideNet attach point on a ResNet: after stage `stage` (1...4) or after block `block` of it.
public struct ResNetAttachPoint: Hashable, Sendable, CustomStringConvertible {
    /// Stage 1...4 (torchvision's layer1...layer4).
    public var stage: Int
    /// Block index inside the stage, or nil for "after the whole stage".
    public var block: Int?

    public init(stage: Int, block: Int? = nil) {
        self.stage = stage
        self.block = block
    }

    /// The paper's attach point: the output of layer1.
    public static let layer1 = ResNetAttachPoint(stage: 1)

    /// Parses `layerN` or `layerN.i`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts[0].hasPrefix("layer"), let s = Int(parts[0].dropFirst(5)), (1...4).contains(s) else {
            throw ModelError.badAttachPoint(text, reason: "expected layerN or layerN.i with N in 1...4")
        }
        var b: Int? = nil
        if parts.count == 2 {
            guard let i = Int(parts[1]), i >= 0 else {
                throw ModelError.badAttachPoint(text, reason: "block index after the dot must be an integer >= 0")
            }
            b = i
        }
        self.init(stage: s, block: b)
    }

    /// `layerN` or `layerN.i` (the module name whose output is read).
    public var description: String { block.map { "layer\(stage).\($0)" } ?? "layer\(stage)" }

    /// Checks that the block exists in `config`.
    public func validate(in config: ResNetConfig) throws {
        if let b = block, b >= config.blocks[stage - 1] {
            throw ModelError.badAttachPoint(description, reason: "layer\(stage) has \(config.blocks[stage - 1]) blocks (0...\(config.blocks[stage - 1] - 1))")
        }
    }

    /// Number of residual blocks (over all stages) run before the SideNet reads the activation.
    public func blocksBefore(in config: ResNetConfig) -> Int {
        let earlier = config.blocks[0..<(stage - 1)].reduce(0, +)
        return earlier + (block.map { $0 + 1 } ?? config.blocks[stage - 1])
    }
}
