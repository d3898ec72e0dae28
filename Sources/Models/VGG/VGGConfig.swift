// VGG variants as data (torchvision `torchvision/models/vgg.py`, `cfgs`): configuration letter
// A (vgg11), B (vgg13), D (vgg16), E (vgg19), with or without BatchNorm (`_bn`). `width`
// scales every channel count, and the classifier's 4096, by width/64 (64 = torchvision; small
// widths for test fixtures and demos). `dropout` is torchvision's `VGG(dropout=0.5)`.

/// A VGG `features` stack described by data.
public struct VGGConfig: Equatable, Sendable {
    /// torchvision's cfgs: channel counts, nil = "M" (MaxPool2d(2, 2)).
    public static let cfgs: [String: [Int?]] = [
        "A": [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil],
        "B": [64, 64, nil, 128, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil],
        "D": [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil],
        "E": [64, 64, nil, 128, 128, nil, 256, 256, 256, 256, nil, 512, 512, 512, 512, nil, 512, 512, 512, 512, nil],
    ]
    /// Preset name -> (cfg letter, batch norm).
    public static let presets: [(name: String, cfg: String, batchNorm: Bool)] = [
        ("vgg11", "A", false), ("vgg11_bn", "A", true), ("vgg13", "B", false), ("vgg13_bn", "B", true),
        ("vgg16", "D", false), ("vgg16_bn", "D", true), ("vgg19", "E", false), ("vgg19_bn", "E", true),
    ]

    public var cfg: String
    public var batchNorm: Bool
    public var width: Int
    /// Dropout probability of classifier.2 and classifier.5.
    public var dropout: Double

    public init(cfg: String, batchNorm: Bool, width: Int = 64, dropout: Double = 0.5) {
        precondition(VGGConfig.cfgs[cfg] != nil && width >= 1 && dropout >= 0 && dropout < 1,
                     "VGG cfg \(cfg) width \(width) dropout \(dropout)")
        self.cfg = cfg; self.batchNorm = batchNorm; self.width = width; self.dropout = dropout
    }

    /// Channel counts (scaled by width/64, at least 1) and nil for each max pool.
    public var layers: [Int?] { VGGConfig.cfgs[cfg]!.map { $0.map { max(1, $0 * width / 64) } } }

    /// Channels of the last feature map.
    public var featureChannels: Int { layers.compactMap { $0 }.last! }

    /// torchvision's `avgpool` output size (7x7) and the input of classifier.0 (C*7*7).
    public static let pooledSize = 7
    public var classifierInput: Int { featureChannels * VGGConfig.pooledSize * VGGConfig.pooledSize }
    /// Width of classifier.0 / classifier.3 (4096 in torchvision) = the MainNet head's input.
    public var classifierWidth: Int { max(1, 4096 * width / 64) }

    /// The `features.N` index of each module: (kind, output channels), for accounting and attach points.
    public var modules: [(kind: String, channels: Int)] {
        var out: [(String, Int)] = []
        var c = 3
        for l in layers {
            guard let n = l else { out.append(("pool", c)); continue }
            out.append(("conv", n))
            if batchNorm { out.append(("norm", n)) }
            out.append(("relu", n))
            c = n
        }
        return out
    }
}
