import Foundation
import Tensors

/// What a MainNet reads.
public enum InputKind: String, Sendable { case images, text }

/// How a text family's inputs are tokenized from a `vocab.txt` (`mainnet.vocab`).
public enum TextTokenizerKind: String, Sendable {
    /// Uncased WordPiece, `[CLS] pieces [SEP]` (HF's slow BertTokenizer).
    case uncasedWordPiece = "uncased-wordpiece"
}

/// Sizes a family needs beyond its config: the input size of images, the sequence length of
/// text (for FLOPs), the vocabulary size when the config leaves it open, and the outputs.
public struct MainNetContext: Sendable {
    /// Image height and width (images).
    public var inputSize: Int
    /// Tokens per sequence for compute accounting (text).
    public var sequenceLength: Int
    /// Vocabulary size used when the config does not give `vocab_size` (text).
    public var vocabSize: Int?
    /// Outputs of the head and the SideNets (1 = one sigmoid logit).
    public var outputs: Int
    /// The caller loads every backbone weight right after building it (a weight file): a family
    /// may then skip drawing its random init (the text encoders do: ~300 M normal draws for
    /// BERT-large). Not part of `init`: false unless set.
    public var weightsFollow = false

    public init(inputSize: Int = 32, sequenceLength: Int = 64, vocabSize: Int? = nil, outputs: Int) {
        self.inputSize = inputSize; self.sequenceLength = sequenceLength
        self.vocabSize = vocabSize; self.outputs = outputs
    }
}

/// A MainNet family (ResNet, BERT, DistilBERT, VGG, ...): everything the rest of the harness
/// needs to know about it, declared in the family's folder and registered once in
/// `MainNetRegistry`. Specs, the CLI and the Runner ask it; none of them names a family.
public protocol MainNetFamily: Sendable {
    /// The arch name for an explicit `mainnet.config` ("resnet", "bert", ...).
    var name: String { get }
    var inputKind: InputKind { get }
    /// The tokenizer of a text family (nil for image families).
    var textTokenizer: TextTokenizerKind? { get }
    /// Preset arch names (each implies a config), e.g. resnet18.
    var presetNames: [String] { get }
    /// The config a preset implies (canonical), or nil.
    func presetConfig(_ arch: String) -> FamilyConfig?
    /// What an inline config looks like, for messages ("{blocks, width, block}").
    var configHint: String { get }
    /// Whether `mainnet.config` may name a config.json file.
    var readsConfigFiles: Bool { get }
    /// Validates an inline config and fills its defaults (throws `FamilyConfigError`).
    func canonicalConfig(_ config: FamilyConfig) throws -> FamilyConfig
    /// Reads a config.json (only when `readsConfigFiles`); `file` names it in errors.
    func readConfigFile(_ data: Data, file: String) throws -> FamilyConfig
    /// Whether a config.json describes this family (its model_type).
    func describesConfigFile(_ data: Data) -> Bool
    /// Unit index after which the SideNet reads (see `MainNetBackbone`), or nil when `config`
    /// is unknown and the name is well formed. Throws `ModelError.badAttachPoint` listing the
    /// valid points.
    func attachUnit(_ name: String, config: FamilyConfig?) throws -> Int?
    /// The paper's attach point for this config.
    func defaultAttachPoint(_ config: FamilyConfig) throws -> String
    /// Longest input the config accepts (text: max_position_embeddings), nil for images.
    func maxInputLength(_ config: FamilyConfig) -> Int?
    /// Analytic costs and sizes per unit (no weights allocated).
    func plan(_ config: FamilyConfig, context: MainNetContext) throws -> BackbonePlan
    /// A randomly initialised backbone (seeded by `rng`).
    func makeBackbone(_ config: FamilyConfig, context: MainNetContext, rng: inout SeededGenerator) throws -> MainNetBackbone
    /// How published weight files (torchvision / HF) name this family's tensors.
    var weightNaming: WeightNaming { get }
    /// Where the published weight files are (for "missing file" messages; nothing is downloaded).
    var publishedWeights: PublishedWeights { get }
    /// One line describing the split for `sidenet model` (arch, shape, attach point).
    func describe(_ arch: String, config: FamilyConfig, context: MainNetContext, attach: String) throws -> String
}

extension MainNetFamily {
    /// Text families tokenize with uncased WordPiece unless they declare otherwise.
    public var textTokenizer: TextTokenizerKind? { inputKind == .text ? .uncasedWordPiece : nil }
    public var readsConfigFiles: Bool { false }
    public func readConfigFile(_ data: Data, file: String) throws -> FamilyConfig {
        throw ModelError.badInput("\(file): a \(name) MainNet is configured inline (\(configHint)), not by a config file")
    }
    public func describesConfigFile(_ data: Data) -> Bool { false }
    public func maxInputLength(_ config: FamilyConfig) -> Int? { nil }
    public var publishedWeights: PublishedWeights { PublishedWeights() }
}

/// A family's published pretrained weights: single files by their published name (torchvision:
/// the 8 hex digits are the file's SHA-256 prefix), and model folders by preset (HF).
public struct PublishedWeights: Sendable {
    /// File name -> URL.
    public var files: [String: String]
    /// Preset arch name -> where its files are (a folder of config.json, vocab.txt, weights).
    public var folders: [String: String]
    public init(files: [String: String] = [:], folders: [String: String] = [:]) {
        self.files = files; self.folders = folders
    }
}

/// Per-unit costs of a backbone for one input size, and the sizes its heads read.
/// Unit 0 is the stem / embeddings; a SideNet attached at unit u reads unit u's output.
public struct BackbonePlan: Equatable, Sendable {
    public var unitNames: [String]
    public var unitCosts: [ComputeCost]
    /// SideNet input features after each unit.
    public var sideFeatures: [Int]
    /// Head input features (pooled / pooler / [CLS]).
    public var headFeatures: Int
    /// Cost between the last unit and the head input (BERT's pooler; 0 for pooling).
    public var headInputCost: ComputeCost
    /// The published reference model (torchvision with its 1000-class classifier, HF base model).
    public var reference: (label: String, cost: ComputeCost)

    public init(unitNames: [String], unitCosts: [ComputeCost], sideFeatures: [Int], headFeatures: Int,
                headInputCost: ComputeCost = .zero, reference: (label: String, cost: ComputeCost)) {
        self.unitNames = unitNames; self.unitCosts = unitCosts; self.sideFeatures = sideFeatures
        self.headFeatures = headFeatures; self.headInputCost = headInputCost; self.reference = reference
    }

    public static func == (a: BackbonePlan, b: BackbonePlan) -> Bool {
        a.unitNames == b.unitNames && a.unitCosts == b.unitCosts && a.sideFeatures == b.sideFeatures
            && a.headFeatures == b.headFeatures && a.headInputCost == b.headInputCost
            && a.reference.label == b.reference.label && a.reference.cost == b.reference.cost
    }

    /// The backbone alone (every unit and the head-input cost).
    public var backbone: ComputeCost { unitCosts.reduce(headInputCost, +) }

    /// Split at unit `u` with MLP SideNet and head of the given sizes.
    public func breakdown(attachUnit u: Int, sideHidden: Int, headHidden: Int, outputs: Int) -> ComputeBreakdown {
        precondition(u >= 0 && u < unitCosts.count, "attach unit \(u) outside 0..<\(unitCosts.count)")
        return ComputeBreakdown(
            prefix: unitCosts[0...u].reduce(.zero, +),
            sideNet: MLPHeadShape(inFeatures: sideFeatures[u], hidden: sideHidden, outputs: outputs).cost,
            rest: unitCosts[(u + 1)...].reduce(headInputCost, +),
            head: MLPHeadShape(inFeatures: headFeatures, hidden: headHidden, outputs: outputs).cost)
    }
}
