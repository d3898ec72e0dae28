import Foundation
import Tensors

/// Which file of a distribution an example came from.
public enum SSTSourceSplit: String, Sendable, CaseIterable {
    case train, dev, test
}

/// One SST sentence (or GLUE phrase). `label` is 0 = negative, 1 = positive, nil for GLUE test.
public struct SSTExample: Sendable, Equatable {
    public var text: String
    public var label: Int?
    public var sourceSplit: SSTSourceSplit
    /// 0-based position among the data lines of its file (header excluded).
    public var sourceIndex: Int

    public init(text: String, label: Int?, sourceSplit: SSTSourceSplit, sourceIndex: Int) {
        self.text = text
        self.label = label
        self.sourceSplit = sourceSplit
        self.sourceIndex = sourceIndex
    }
}

/// The on-disk layouts of SST-2 the readers understand (formats.md §2).
public enum SSTFormat: String, Sendable, CaseIterable {
    /// Kim-2014 style `stsa.binary.{train,dev,test}`: `<0|1><space><sentence>`, no header.
    case stsaBinary = "stsa"
    /// SentEval `sentiment-{train,dev,test}`: `<sentence><TAB><0|1>`, no header.
    case sentEval = "senteval"
    /// HF SetFit/sst2 `{train,dev,test}.jsonl`: objects with `text` (string) and `label` (0/1).
    case jsonLines = "jsonl"
    /// GLUE `train.tsv`/`dev.tsv` (`sentence<TAB>label` header) and optional unlabeled
    /// `test.tsv` (`index<TAB>sentence` header). Tabs split literally, no CSV quoting.
    case glue

    /// Autodetection preference when several layouts are present: sentence-level first.
    public static let detectionOrder: [SSTFormat] = [.stsaBinary, .sentEval, .jsonLines, .glue]

    /// The file name of a split in this layout.
    public func fileName(_ split: SSTSourceSplit) -> String {
        switch self {
        case .stsaBinary: return "stsa.binary.\(split.rawValue)"
        case .sentEval: return "sentiment-\(split.rawValue)"
        case .jsonLines: return "\(split.rawValue).jsonl"
        case .glue: return "\(split.rawValue).tsv"
        }
    }

    /// Splits that must exist (GLUE test is optional: its labels are hidden anyway).
    public var requiredSplits: [SSTSourceSplit] {
        self == .glue ? [.train, .dev] : [.train, .dev, .test]
    }

    /// Parses a format name (`stsa`, `senteval`, `jsonl`, `glue`).
    public static func named(_ name: String) throws -> SSTFormat {
        try sstNamed(name, kind: "format")
    }
}

/// All examples of one SST distribution, by source split, in file order.
public struct SSTCorpus: Sendable {
    public var format: SSTFormat
    public var directory: URL
    public var train: [SSTExample]
    public var dev: [SSTExample]
    /// Empty when GLUE's optional test.tsv is absent; labels nil for GLUE.
    public var test: [SSTExample]

    public init(format: SSTFormat, directory: URL, train: [SSTExample], dev: [SSTExample], test: [SSTExample]) {
        self.format = format
        self.directory = directory
        self.train = train
        self.dev = dev
        self.test = test
    }

    /// Labeled examples in the canonical order train, dev, test (each in file order).
    public var labeledPool: [SSTExample] { (train + dev + test).filter { $0.label != nil } }
}

/// Readers for the SST-2 layouts.
public enum SSTReader {
    /// The first layout of `SSTFormat.detectionOrder` whose required files all exist in `directory`.
    public static func detectFormat(in directory: URL) throws -> SSTFormat {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw SSTError.missingData(directory: directory.path)
        }
        for f in SSTFormat.detectionOrder
        where f.requiredSplits.allSatisfy({ fm.fileExists(atPath: directory.appendingPathComponent(f.fileName($0)).path) }) {
            return f
        }
        throw SSTError.missingData(directory: directory.path)
    }

    /// Reads a directory in the given layout, or the autodetected one when `format` is nil.
    public static func load(directory: URL, format: SSTFormat? = nil) throws -> SSTCorpus {
        let f = try format ?? detectFormat(in: directory)
        var parts: [SSTSourceSplit: [SSTExample]] = [:]
        for split in SSTSourceSplit.allCases {
            let url = directory.appendingPathComponent(f.fileName(split))
            if !FileManager.default.fileExists(atPath: url.path) {
                if f.requiredSplits.contains(split) { throw SSTError.missingFile(path: url.path, format: f.rawValue) }
                parts[split] = []
                continue
            }
            parts[split] = try read(url, format: f, split: split)
            // Training on nothing is never intended: an empty train file is a truncated download.
            if split == .train, parts[split]?.isEmpty ?? true { throw SSTError.noExamples(path: url.path) }
        }
        return SSTCorpus(format: f, directory: directory, train: parts[.train]!, dev: parts[.dev]!, test: parts[.test]!)
    }

    /// Reads one file of a layout.
    public static func read(_ url: URL, format: SSTFormat, split: SSTSourceSplit) throws -> [SSTExample] {
        try parse(try readFileData(url), path: url.path, format: format, split: split)
    }

    /// Parses the bytes of one file of a layout; `path` names them in errors.
    public static func parse(_ data: Data, path: String, format: SSTFormat, split: SSTSourceSplit) throws -> [SSTExample] {
        let lines = try lines(of: data, path: path)
        switch format {
        case .stsaBinary: return try parseStsa(lines, path: path, split: split)
        case .sentEval: return try parseSentEval(lines, path: path, split: split)
        case .jsonLines: return try parseJSONLines(lines, path: path, split: split)
        case .glue: return try parseGLUE(lines, path: path, split: split)
        }
    }

    /// UTF-8 lines split on `\n` bytes (a trailing `\r` is dropped, a final empty line ignored).
    /// Swift's `Character` split would treat `\r\n` as one grapheme, so bytes are split instead.
    static func readLines(_ url: URL) throws -> [String] {
        try lines(of: try readFileData(url), path: url.path)
    }

    static func readFileData(_ url: URL) throws -> Data {
        if let problem = FileKind.problem(atPath: url.path) { throw SSTError.unreadable(path: url.path, reason: problem) }
        do { return try Data(contentsOf: url) } catch {
            throw SSTError.unreadable(path: url.path, reason: (error as NSError).localizedDescription)
        }
    }

    static func lines(of data: Data, path: String) throws -> [String] {
        var lines: [String] = []
        var lineNumber = 0
        for var slice in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if slice.last == 0x0D { slice = slice.dropLast() }
            guard let s = String(validating: slice, as: UTF8.self) else {
                throw SSTError.malformedLine(path: path, line: lineNumber, expected: "valid UTF-8")
            }
            lines.append(s)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    static func parseLabel(_ s: Substring) -> Int? {
        s == "0" ? 0 : (s == "1" ? 1 : nil)
    }

    /// `<0|1> <sentence>`.
    static func parseStsa(_ lines: [String], path: String, split: SSTSourceSplit) throws -> [SSTExample] {
        try lines.enumerated().map { i, line in
            let u = line.utf8
            guard u.count >= 3, let first = u.first, first == 0x30 || first == 0x31,
                  u[u.index(after: u.startIndex)] == 0x20 else {
                throw SSTError.malformedLine(path: path, line: i + 1, expected: "\"<0|1> <sentence>\"")
            }
            let text = String(line.dropFirst(2))
            return SSTExample(text: text, label: Int(first - 0x30), sourceSplit: split, sourceIndex: i)
        }
    }

    /// `<sentence>\t<0|1>`.
    static func parseSentEval(_ lines: [String], path: String, split: SSTSourceSplit) throws -> [SSTExample] {
        try lines.enumerated().map { i, line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, let label = parseLabel(fields[1]) else {
                throw SSTError.malformedLine(path: path, line: i + 1, expected: "\"<sentence>\\t<0|1>\"")
            }
            return SSTExample(text: String(fields[0]), label: label, sourceSplit: split, sourceIndex: i)
        }
    }

    private struct JSONRow: Decodable {
        let text: String
        let label: Int
    }

    /// `{"text": ..., "label": 0|1, ...}` per line.
    static func parseJSONLines(_ lines: [String], path: String, split: SSTSourceSplit) throws -> [SSTExample] {
        let decoder = JSONDecoder()
        return try lines.enumerated().map { i, line in
            guard let row = try? decoder.decode(JSONRow.self, from: Data(line.utf8)), row.label == 0 || row.label == 1 else {
                throw SSTError.malformedLine(path: path, line: i + 1,
                                             expected: "a JSON object with string \"text\" and integer \"label\" 0 or 1")
            }
            return SSTExample(text: row.text, label: row.label, sourceSplit: split, sourceIndex: i)
        }
    }

    /// GLUE TSV: header line 1, then `sentence\tlabel` (train/dev) or `index\tsentence` (test).
    /// Line numbers in errors count the header (line 1), so data starts at line 2.
    static func parseGLUE(_ lines: [String], path: String, split: SSTSourceSplit) throws -> [SSTExample] {
        let header = split == .test ? "index\tsentence" : "sentence\tlabel"
        guard let first = lines.first, first == header else {
            throw SSTError.malformedLine(path: path, line: 1, expected: "header \"\(header.replacingOccurrences(of: "\t", with: "\\t"))\"")
        }
        var out: [SSTExample] = []
        out.reserveCapacity(lines.count - 1)
        for (i, line) in lines.enumerated().dropFirst() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            if split == .test {
                guard fields.count == 2, Int(fields[0]) != nil, !fields[1].isEmpty else {
                    throw SSTError.malformedLine(path: path, line: i + 1, expected: "\"<index>\\t<sentence>\"")
                }
                out.append(SSTExample(text: String(fields[1]), label: nil, sourceSplit: split, sourceIndex: i - 1))
            } else {
                guard fields.count == 2, !fields[0].isEmpty, let label = parseLabel(fields[1]) else {
                    throw SSTError.malformedLine(path: path, line: i + 1, expected: "\"<sentence>\\t<0|1>\"")
                }
                out.append(SSTExample(text: String(fields[0]), label: label, sourceSplit: split, sourceIndex: i - 1))
            }
        }
        return out
    }
}
