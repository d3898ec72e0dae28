import Foundation

/// Everything that can go wrong reading CIFAR-10 binary files, choosing an image normalisation,
/// or writing generated stand-in images. Each message names the file (and record) and what was
/// expected.
public enum CIFARError: Error, CustomStringConvertible, Equatable {
    /// The CIFAR-10 directory does not exist (or is not a directory).
    case directoryNotFound(path: String)
    /// The directory exists but some data files (and maybe the meta file) are absent.
    case missingFiles(directory: String, files: [String])
    /// Only `batches.meta.txt` is absent.
    case missingMetaFile(path: String)
    /// A data file's size is not what the format allows.
    case badFileSize(path: String, size: Int, expected: String)
    /// A label byte is above 9 (`record` is 0-based within the file).
    case labelOutOfRange(path: String, record: Int, label: UInt8)
    /// `batches.meta.txt` does not list exactly ten class names.
    case badClassNames(path: String, found: [String])
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// A normalisation name other than `imagenet`, `cifar` or `none`.
    case unknownNormalization(name: String)
    /// An argument (count, fraction, size) is outside its allowed range.
    case invalidArgument(name: String, value: String, expected: String)

    /// Where the real data set is published and what to do with it.
    public static let downloadHint =
        "download the \"CIFAR-10 binary version\" archive cifar-10-binary.tar.gz from "
        + "https://www.cs.toronto.edu/~kriz/cifar.html, extract it (tar xzf) and pass the resulting "
        + "cifar-10-batches-bin directory (or its parent); or generate synthetic stand-in data with "
        + "`sidenet data synth cifar10 --out DIR`"

    public var description: String {
        switch self {
        case let .directoryNotFound(path):
            return "CIFAR-10 directory \(path) not found: expected it to hold "
                + CIFAR10.allFileNames.joined(separator: ", ") + "; " + CIFARError.downloadHint
        case let .missingFiles(directory, files):
            return "CIFAR-10 directory \(directory) lacks \(files.joined(separator: ", ")) (expected "
                + CIFAR10.allFileNames.joined(separator: ", ") + "); " + CIFARError.downloadHint
        case let .missingMetaFile(path):
            return "CIFAR-10 class-name file \(path) not found (expected batches.meta.txt with ten "
                + "class names, one per line); " + CIFARError.downloadHint
        case let .badFileSize(path, size, expected):
            return "CIFAR-10 file \(path) is \(size) bytes, expected \(expected) "
                + "(records of \(CIFAR10.recordSize) bytes: 1 label byte + 3,072 pixel bytes); "
                + "truncated or not a CIFAR-10 binary file"
        case let .labelOutOfRange(path, record, label):
            return "CIFAR-10 file \(path) record \(record) (byte offset \(record * CIFAR10.recordSize)) "
                + "has label \(label), expected 0...9"
        case let .badClassNames(path, found):
            return "CIFAR-10 class-name file \(path) lists \(found.count) non-blank lines, expected 10 "
                + "(found: \(found.prefix(12).joined(separator: ", ")))"
        case let .io(path, reason):
            return "cannot access \(path): \(reason)"
        case let .unknownNormalization(name):
            return "unknown image normalisation \"\(name)\", expected one of: "
                + ImageNormalization.allNames.joined(separator: ", ")
        case let .invalidArgument(name, value, expected):
            return "invalid \(name) \(value), expected \(expected)"
        }
    }
}
