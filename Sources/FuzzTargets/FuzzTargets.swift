import Datasets
import Foundation
import Specs
import Tokenizer
import WeightIO

// One fuzz target per parser: bytes in, a parsed value or one of that parser's typed errors out.
// Anything else is a bug: a trap (crash), or an error of a type the parser does not declare.
// Shared by the libFuzzer binaries (Tests/Fuzz/run.sh) and the CI smoke test (FuzzSmokeTests).

/// What one input did.
public enum FuzzOutcome: Sendable {
    /// The parser accepted the input.
    case accepted
    /// The parser refused it with one of its typed errors (the message).
    case rejected(String)
    /// The parser threw an error of an unexpected type: a bug, reported like a crash.
    case untyped(String)
}

/// The parsers under fuzzing.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case safetensors, zip, pickle, torch, spec, cifar, sst, vocab

    /// Feeds `data` to the parser and classifies the result.
    public func run(_ data: Data) -> FuzzOutcome {
        do {
            try parse(data)
            return .accepted
        } catch {
            return isTyped(error) ? .rejected(String(describing: error)) : .untyped("\(type(of: error)): \(error)")
        }
    }

    private func isTyped(_ e: Error) -> Bool {
        switch self {
        case .safetensors: return e is SafeTensorsError || e is StoredTensorError
        case .zip: return e is ZipError
        case .pickle: return e is PickleError
        case .torch: return e is TorchFileError || e is PickleError || e is ZipError || e is StoredTensorError
        case .spec: return e is SpecError
        case .cifar: return e is CIFARError
        case .sst: return e is SSTError
        case .vocab: return e is TokenizerError
        }
    }

    private func parse(_ data: Data) throws {
        let name = "fuzz-input"
        switch self {
        case .safetensors:
            let file = try SafeTensorsFile(data: data, source: name)
            for t in file.tensors.values { _ = try t.floats() }
        case .zip:
            let zip = try ZipArchive(data: data, file: name)
            for e in zip.entries.prefix(16) { _ = try zip.contents(of: e) }
        case .pickle:
            try PickleReader.check(data, file: name)
        case .torch:
            let tensors = try TorchFile.load(data: data, file: name)
            for t in tensors.values { _ = try t.floats() }
        case .spec:
            let spec = try ExperimentSpec.parse(yaml: String(decoding: data, as: UTF8.self), file: name)
            _ = spec.canonicalJSON()
        case .cifar:
            // Whole records are read as a data file, anything else as batches.meta.txt.
            if !data.isEmpty && data.count % CIFAR10.recordSize == 0 {
                _ = try CIFAR10.parseRecords(data, path: name, sizeCheck: .anyRecordCount)
            } else {
                _ = try CIFAR10.parseClassNames(data, path: name)
            }
        case .sst:
            // Every layout and split reads the same bytes: accepted if one accepts, else the first refusal.
            var firstError: Error?
            var accepted = false
            for format in SSTFormat.allCases {
                for split in SSTSourceSplit.allCases {
                    do { _ = try SSTReader.parse(data, path: name, format: format, split: split); accepted = true } catch {
                        firstError = firstError ?? error
                    }
                }
            }
            if !accepted, let firstError { throw firstError }
        case .vocab:
            // The bytes as text for a fixed vocabulary (one truncating encode: it tokenizes the whole
            // text, then cuts), then as a vocab.txt encoding its own first lines. Each text is
            // tokenized once per vocabulary: tokenizing is most of the cost of an execution.
            let text = String(decoding: data, as: UTF8.self)
            _ = FuzzTarget.fixedTokenizer?.encode(text, maxLength: 8)
            let tokenizer = try BertTokenizer(vocabulary: try Vocabulary.parse(data, source: name))
            for line in text.split(separator: "\n").prefix(16) { _ = tokenizer.encode(String(line), maxLength: 16) }
        }
    }

    private static let fixedTokenizer: BertTokenizer? = {
        var tokens = BertTokenizer.specialTokens + ["the", "a", "movie", "good", "bad", "un", "##believ", "##able", "##s", "!", ",", ".",
                                                    "é", "##é", "中", "文", "[unused0]"]
        tokens += (0..<10).map(String.init)
        return try? BertTokenizer(vocabulary: Vocabulary(tokens: tokens, source: "fuzz-fixed-vocab"))
    }()
}
