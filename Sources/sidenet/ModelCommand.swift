import ArgumentParser
import Foundation
import Models

/// `sidenet model ARCH`: the compute table of a MainNet with a SideNet (no weights needed).
/// ResNets (`--input-size`) and the BERT family (`--seq-len`), by name or by an HF config.json.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Print parameters and forward FLOPs of a MainNet split at a SideNet attach point.",
        discussion: """
            Rows: MainNet prefix (input -> attach point), SideNet, MainNet remainder (backbone after \
            the attach point), MainNet head (the paper's MLP head replacing torchvision's fc), then \
            totals. Parameters are learnable scalars (BatchNorm running statistics excluded). \
            FLOPs = 2 x multiply-adds of convolution and linear layers per example; BatchNorm, ReLU, \
            pooling and residual additions are not counted. ResNet archs: \
            \(ResNetConfig.presetNames.joined(separator: ", ")). Text archs: bert-base, bert-large, \
            distilbert (the uncased HF models), or a path to an HF config.json; their SideNet reads the \
            [CLS] state after `encoder.layer.N` / `transformer.layer.N`, FLOPs are for --seq-len tokens \
            and SST-2's single sigmoid output (--classes 1) is the default for them.
            """)

    @Argument(help: "Architecture, e.g. resnet18, resnet50, resnet152, bert-base, bert-large, distilbert, or a config.json.")
    var arch: String

    @Option(name: .long, parsing: .unconditional, help: "Input height and width for images (default 32, CIFAR-10; 224 for ImageNet).")
    var inputSize: Int = 32

    @Option(name: .long, parsing: .unconditional, help: "Sequence length in tokens for text models (FLOPs grow with it).")
    var seqLen: Int = 64

    @Option(name: .long, help: "SideNet attach point: layerN / layerN.i (ResNet; default layer1), encoder.layer.N (BERT; default the paper's) or transformer.layer.N (DistilBERT).")
    var attach: String?

    @Option(name: .long, parsing: .unconditional, help: "Outputs of the head and the SideNet (1 = one sigmoid logit). Default 10 for ResNets, 1 for text models.")
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
        if let config = ResNetConfig.preset(arch, numClasses: classes ?? 10) {
            print(try resNetTable(config))
            return
        }
        if let text = try textTable() {
            print(text)
            return
        }
        throw ModelError.unknownArchitecture(arch, known: ResNetConfig.presetNames + ["bert-base", "bert-large", "distilbert"])
    }

    /// BERT-family table, or nil when `arch` names no text model.
    func textTable() throws -> String? {
        let outputs = classes ?? 1
        let bert: BertConfig?, distil: DistilBertConfig?
        switch arch {
        case "bert-base", "bert-base-uncased": (bert, distil) = (try BertConfig.named("bert-base-uncased"), nil)
        case "bert-large", "bert-large-uncased": (bert, distil) = (try BertConfig.named("bert-large-uncased"), nil)
        case "distilbert", "distilbert-base-uncased": (bert, distil) = (nil, try DistilBertConfig.named("distilbert-base-uncased"))
        default:
            guard arch.hasSuffix(".json"), FileManager.default.fileExists(atPath: arch) else { return nil }
            let data = try Data(contentsOf: URL(fileURLWithPath: arch))
            let isDistil = String(decoding: data, as: UTF8.self).contains("\"distilbert\"")
            if isDistil { (bert, distil) = (nil, try DistilBertConfig(json: data, file: arch)) }
            else { (bert, distil) = (try BertConfig(json: data, file: arch), nil) }
        }
        let prefix = bert != nil ? "encoder.layer" : "transformer.layer"
        let layers = bert?.numHiddenLayers ?? distil!.nLayers
        // The paper: after block 4 of 12 (BERT-base), 8 of 24 (BERT-large), 1 of 6 (DistilBERT).
        let defaultLayer = bert == nil ? 0 : (layers >= 24 ? 7 : 3)
        let name = attach ?? "\(prefix).\(defaultLayer)"
        let tail = name.hasPrefix(prefix + ".") ? String(name.dropFirst(prefix.count + 1)) : name
        guard let n = Int(tail), n >= 0, n < layers else {
            throw ValidationError("--attach \(name): expected \(prefix).N with N in 0..<\(layers)")
        }
        let b = bert?.computeBreakdown(attachLayer: n, length: seqLen, sideHidden: hidden, headHidden: hidden, outputs: outputs)
            ?? distil!.computeBreakdown(attachLayer: n, length: seqLen, sideHidden: hidden, headHidden: hidden, outputs: outputs)
        let head = bert != nil ? "pooler output" : "[CLS] hidden state"
        let title = "\(arch) (\(layers) layers), \(seqLen) tokens, SideNet on the [CLS] state after \(prefix).\(n), "
            + "MainNet head on the \(head), \(outputs) output(s), hidden \(hidden)"
        let base = bert?.baseModelCost(length: seqLen) ?? distil!.baseModelCost(length: seqLen)
        return computeTable(title: title, attach: "\(prefix).\(n)", breakdown: b)
            + "\nHF base model (\(bert != nil ? "BertModel with pooler" : "DistilBertModel")): \(grouped(base.parameters)) params, \(gflops(base.flops)) GFLOPs"
    }

    func resNetTable(_ config: ResNetConfig) throws -> String {
        let point = try ResNetAttachPoint(parsing: attach ?? "layer1")
        try point.validate(in: config)
        let plan = ResNetPlan(config: config, height: inputSize, width: inputSize)
        let b = plan.breakdown(attach: point, hidden: hidden)
        let shape = plan.activationShape(point)
        let tv = ResNetPlan(config: ResNetConfig(block: config.block, blocks: config.blocks, width: config.width, numClasses: 1000),
                            height: inputSize, width: inputSize).total
        let title = """
            \(arch) (\(config.block.rawValue), blocks \(config.blocks), width \(config.width)), input \(inputSize)x\(inputSize), \
            SideNet at \(point) (activation \(shape) -> \(shape.reduce(1, *)) features), \(classes ?? 10) output(s), hidden \(hidden)
            """
        var out = computeTable(title: title, attach: "\(point)", breakdown: b)
        out += "\ntorchvision \(arch) with its 1000-class fc: \(grouped(tv.parameters)) params, \(gflops(tv.flops)) GFLOPs"
        return out
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
