/// Errors of the SST readers and splits. Messages name the file, 1-based line and what was expected.
public enum SSTError: Error, CustomStringConvertible, Equatable {
    /// The directory holds none of the known SST layouts.
    case missingData(directory: String)
    /// A file a format needs is absent.
    case missingFile(path: String, format: String)
    /// A file could not be read.
    case unreadable(path: String, reason: String)
    /// A line does not have the expected shape.
    case malformedLine(path: String, line: Int, expected: String)
    /// A training file holds no examples.
    case noExamples(path: String)
    /// The split scheme cannot be built from this data.
    case unsupportedScheme(scheme: String, reason: String)
    /// Unknown format or scheme name.
    case unknownName(kind: String, name: String, allowed: [String])

    public var description: String {
        switch self {
        case let .missingData(dir):
            return "\(dir): no SST data found. Expected one of: stsa.binary.{train,dev,test} "
                + "(sentence-level SST-2, Kim 2014 style), sentiment-{train,dev,test} (SentEval "
                + "data/downstream/SST/binary), {train,dev,test}.jsonl (HF SetFit/sst2), or GLUE "
                + "train.tsv + dev.tsv (+ test.tsv) from https://dl.fbaipublicfiles.com/glue/data/SST-2.zip. "
                + "Download one of these yourself (sidenet never downloads), or generate stand-in data "
                + "with `sidenet data synth sst --out DIR`."
        case let .missingFile(path, format):
            return "\(path): file missing (needed by SST format \(format))"
        case let .unreadable(path, reason):
            return "\(path): cannot read (\(reason))"
        case let .malformedLine(path, line, expected):
            return "\(path):\(line): malformed line, expected \(expected)"
        case let .noExamples(path):
            return "\(path): no examples (the training file is empty; expected one example per line)"
        case let .unsupportedScheme(scheme, reason):
            return "split scheme \(scheme): \(reason)"
        case let .unknownName(kind, name, allowed):
            return "unknown SST \(kind) \"\(name)\" (allowed: \(allowed.joined(separator: ", ")))"
        }
    }
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// The case named `name` (its raw value), else `SSTError.unknownName` listing the allowed names.
    static func sstNamed(_ name: String, kind: String) throws -> Self {
        guard let c = Self(rawValue: name) else {
            throw SSTError.unknownName(kind: kind, name: name, allowed: allCases.map(\.rawValue))
        }
        return c
    }
}
