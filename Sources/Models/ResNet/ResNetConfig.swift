// ResNet variants as data (torchvision `torchvision/models/resnet.py`):
// depth presets are rows of a table, not subclasses.

/// Residual block type. `.basic` = BasicBlock (expansion 1, resnet18/34),
/// `.bottleneck` = Bottleneck v1.5 (expansion 4, stride on the 3x3 conv; resnet50/101/152).
public enum ResNetBlockKind: String, Sendable, Codable, CaseIterable {
    case basic
    case bottleneck

    /// Output channels = planes * expansion.
    public var expansion: Int { self == .basic ? 1 : 4 }
}

/// A ResNet described by data. torchvision's nets have `width` 64: stem 3 -> 64 channels,
/// stages with planes 64, 128, 256, 512 (= width * 1, 2, 4, 8). Reduced widths keep every key
/// name and only shrink channel counts (used by the test fixtures).
public struct ResNetConfig: Equatable, Sendable, Codable, CustomStringConvertible {
    public var block: ResNetBlockKind
    /// Blocks per stage (exactly 4 stages: layer1 ... layer4).
    public var blocks: [Int]
    /// Base planes: stem output channels and planes of layer1.
    public var width: Int
    /// Outputs of the classifier that sits on the pooled features (`fc` in torchvision).
    public var numClasses: Int

    public init(block: ResNetBlockKind, blocks: [Int], width: Int = 64, numClasses: Int = 1000) {
        precondition(blocks.count == 4 && blocks.allSatisfy { $0 >= 1 }, "ResNet needs 4 stages of >= 1 block, got \(blocks)")
        precondition(width >= 1 && numClasses >= 1)
        self.block = block
        self.blocks = blocks
        self.width = width
        self.numClasses = numClasses
    }

    /// Planes of stage s (0-based): width * 2^s.
    public func planes(stage s: Int) -> Int { width << s }
    /// Output channels of stage s.
    public func outChannels(stage s: Int) -> Int { planes(stage: s) * block.expansion }
    /// Channels of the pooled feature vector (512 for resnet18/34, 2048 for resnet50+).
    public var featureChannels: Int { outChannels(stage: 3) }
    /// Stride of the first block of stage s.
    public func stride(stage s: Int) -> Int { s == 0 ? 1 : 2 }
    /// Input channels of block b of stage s.
    public func inChannels(stage s: Int, block b: Int) -> Int {
        if b > 0 { return outChannels(stage: s) }
        return s == 0 ? width : outChannels(stage: s - 1)
    }
    /// Whether block b of stage s has a `downsample` shortcut (torchvision's rule).
    public func hasDownsample(stage s: Int, block b: Int) -> Bool {
        b == 0 && (stride(stage: s) != 1 || inChannels(stage: s, block: 0) != outChannels(stage: s))
    }

    public var description: String {
        "ResNet(\(block.rawValue), blocks \(blocks), width \(width), classes \(numClasses))"
    }

    // MARK: presets

    public static func resnet18(numClasses: Int = 1000) -> ResNetConfig { .init(block: .basic, blocks: [2, 2, 2, 2], numClasses: numClasses) }
    public static func resnet34(numClasses: Int = 1000) -> ResNetConfig { .init(block: .basic, blocks: [3, 4, 6, 3], numClasses: numClasses) }
    public static func resnet50(numClasses: Int = 1000) -> ResNetConfig { .init(block: .bottleneck, blocks: [3, 4, 6, 3], numClasses: numClasses) }
    public static func resnet101(numClasses: Int = 1000) -> ResNetConfig { .init(block: .bottleneck, blocks: [3, 4, 23, 3], numClasses: numClasses) }
    public static func resnet152(numClasses: Int = 1000) -> ResNetConfig { .init(block: .bottleneck, blocks: [3, 8, 36, 3], numClasses: numClasses) }

    /// Named presets: the torchvision depths plus two reduced nets for tests and smoke runs
    /// (`resnet-tiny-basic`: BasicBlock [1,1,1,1] width 8; `resnet-tiny-bottleneck`:
    /// Bottleneck [1,1,1,1] width 8).
    public static let presetNames = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                                     "resnet-tiny-basic", "resnet-tiny-bottleneck"]

    /// The preset called `name` (see `presetNames`), or nil.
    public static func preset(_ name: String, numClasses: Int = 1000) -> ResNetConfig? {
        switch name.lowercased() {
        case "resnet18": return .resnet18(numClasses: numClasses)
        case "resnet34": return .resnet34(numClasses: numClasses)
        case "resnet50": return .resnet50(numClasses: numClasses)
        case "resnet101": return .resnet101(numClasses: numClasses)
        case "resnet152": return .resnet152(numClasses: numClasses)
        case "resnet-tiny-basic": return .init(block: .basic, blocks: [1, 1, 1, 1], width: 8, numClasses: numClasses)
        case "resnet-tiny-bottleneck": return .init(block: .bottleneck, blocks: [1, 1, 1, 1], width: 8, numClasses: numClasses)
        default: return nil
        }
    }
}
