import ArgumentParser
import Foundation
import Models

/// `sidenet model ARCH`: the compute table of a MainNet with a SideNet (no weights needed).
/// Every fact (presets, configs, attach points, costs) comes from the family registry.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Print parameters and forward FLOPs of a MainNet split at a SideNet attach point.",
        discussion: """
            Rows: MainNet prefix (input -> attach point), SideNet, MainNet remainder (backbone after \
            the attach point), MainNet head (the paper's MLP head replacing the family's classifier), then \
            totals. Parameters are learnable scalars (BatchNorm running statistics excluded). \
            FLOPs = 2 x multiply-adds of convolution and linear layers per example; BatchNorm, ReLU, \
            pooling and residual additions are not counted. Archs: \
            \(MainNetRegistry.families.flatMap(\.presetNames).joined(separator: ", ")), or a path to an HF \
            config.json. Image models use --input-size; text models read the [CLS] state, their FLOPs are \
            for --seq-len tokens and SST-2's single sigmoid output (--classes 1) is their default.
            """)

    @Argument(help: "Architecture preset (e.g. resnet18, resnet50, bert-base, distilbert), or a config.json.")
    var arch: String

    @Option(name: .long, parsing: .unconditional, help: "Input height and width for images (default 32, CIFAR-10; 224 for ImageNet).")
    var inputSize: Int = 32

    @Option(name: .long, parsing: .unconditional, help: "Sequence length in tokens for text models (FLOPs grow with it).")
    var seqLen: Int = 64

    @Option(name: .long, help: "SideNet attach point in the family's grammar (e.g. layer1, layer2.0, encoder.layer.3); default the paper's.")
    var attach: String?

    @Option(name: .long, parsing: .unconditional, help: "Outputs of the head and the SideNet (1 = one sigmoid logit). Default 10 for image models, 1 for text models.")
    var classes: Int?

    @Option(name: .long, parsing: .unconditional, help: "Hidden units of the head and the SideNet.")
    var hidden: Int = 32

    /// Ranges keep every parameter and FLOP count of the table far inside Int (no overflow trap):
    /// ResNet152 at 16384x16384 is ~1.2e14 FLOPs, BERT-large at 65536 tokens ~1.5e16.
    static let limits: [(name: String, range: ClosedRange<Int>)] = [
        ("--input-size", 1...16_384), ("--seq-len", 1...65_536), ("--hidden", 1...1_000_000), ("--classes", 1...1_000_000),
    ]

    func validate() throws {
        let values = [inputSize, seqLen, hidden, classes ?? 1]
        for ((name, range), v) in zip(Self.limits, values) where !range.contains(v) {
            throw ValidationError("\(name) \(v) is out of range; expected \(range.lowerBound)...\(range.upperBound)")
        }
    }

    mutating func run() throws {
        let (family, config) = try resolveArch()
        let outputs = classes ?? (family.inputKind == .text ? 1 : 10)
        let context = MainNetContext(inputSize: inputSize, sequenceLength: seqLen, outputs: outputs)
        let point = try attach ?? family.defaultAttachPoint(config)
        guard let unit = try family.attachUnit(point, config: config) else {
            throw ValidationError("--attach \(point): no config to check it against")
        }
        let plan = try family.plan(config, context: context)
        let b = plan.breakdown(attachUnit: unit, sideHidden: hidden, headHidden: hidden, outputs: outputs)
        let title = try family.describe(arch, config: config, context: context, attach: point)
            + ", \(outputs) output(s), hidden \(hidden)"
        print(computeTable(title: title, attach: point, breakdown: b)
              + "\n\(plan.reference.label): \(grouped(plan.reference.cost.parameters)) params, \(gflops(plan.reference.cost.flops)) GFLOPs")
    }

    /// The family and config of a preset name or of an HF config.json path.
    func resolveArch() throws -> (any MainNetFamily, FamilyConfig) {
        if let family = MainNetRegistry.family(forArch: arch) {
            guard let config = family.presetConfig(arch) else {
                throw ValidationError("\(arch) needs a config; name a preset (\(family.presetNames.joined(separator: ", "))) or a config.json")
            }
            return (family, config)
        }
        if arch.hasSuffix(".json"), FileManager.default.fileExists(atPath: arch) {
            let data = try Data(contentsOf: URL(fileURLWithPath: arch))
            if let family = MainNetRegistry.families.first(where: { $0.readsConfigFiles && $0.describesConfigFile(data) }) {
                return (family, try family.readConfigFile(data, file: arch))
            }
            throw ValidationError("\(arch): its model_type names no known family")
        }
        throw ModelError.unknownArchitecture(arch, known: MainNetRegistry.archNames)
    }
}

/// The compute table shared by every MainNet kind.
func computeTable(title: String, attach: String, breakdown b: ComputeBreakdown) -> String {
    let rows: [(String, ComputeCost?)] = [
        ("MainNet prefix (input -> \(attach))", b.prefix),
        ("SideNet", b.sideNet),
        ("MainNet remainder (after \(attach))", b.rest),
        ("MainNet head", b.head),
        ("", nil),
        ("MainNet alone", b.mainNet),
        ("with SideNet, every example exits early", b.withSideNetAllExit),
        ("with SideNet, no example exits", b.withSideNetNoExit),
    ]
    let width = 44
    func line(_ name: String, _ params: String, _ fl: String) -> String {
        name.padding(toLength: width, withPad: " ", startingAt: 0) + params.leftPadded(16) + fl.leftPadded(14)
    }
    var out = [title, line("part", "params", "GFLOPs")]
    for (name, c) in rows {
        guard let c else { out.append(String(repeating: "-", count: width + 30)); continue }
        out.append(line(name, grouped(c.parameters), gflops(c.flops)))
    }
    for r in [0.25, 0.5, 0.75] {
        out.append(line("with SideNet, exit rate \(r) (expected)", grouped(Int(b.expectedParameters(exitRate: r).rounded())),
                        String(format: "%.4f", b.expectedFLOPs(exitRate: r) / 1e9)))
    }
    out.append("FLOPs = 2 x multiply-adds of conv/linear layers per example (BN, ReLU, pooling, additions not counted); "
               + "params exclude BatchNorm running statistics.")
    return out.joined(separator: "\n")
}

func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, ch) in s.reversed().enumerated() {
        if i > 0 && i % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return String(out.reversed())
}

func gflops(_ flops: Int) -> String { String(format: "%.4f", Double(flops) / 1e9) }

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
