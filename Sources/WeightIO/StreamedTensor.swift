import Foundation
import Tensors

/// A tensor of a weight file whose values are read only when asked, straight into the caller's
/// buffer: from a `SafeTensorsReader` (streamed from disk, nothing held) or from a
/// `StoredTensor` (the bytes of a `.pth` file, which the torch readers hold in memory).
public struct StreamedTensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    private let source: Source

    private enum Source {
        case stored(StoredTensor)
        case file(SafeTensorsReader, name: String)
    }

    public init(_ stored: StoredTensor) {
        dtype = stored.dtype
        shape = stored.shape
        source = .stored(stored)
    }

    public init(_ reader: SafeTensorsReader, name: String) throws {
        guard let loc = reader.tensors[name] else {
            throw SafeTensorsError.readFailed(file: reader.path, tensor: name, reason: "no such tensor")
        }
        dtype = loc.dtype
        shape = loc.shape
        source = .file(reader, name: name)
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// Writes the values (as `StoredTensor.floats()` converts them) into `out`, exactly
    /// `elementCount` long.
    public func read(into out: UnsafeMutableBufferPointer<Float>) throws {
        switch source {
        case .stored(let s): try s.read(into: out)
        case .file(let r, let name): try r.read(name, into: out)
        }
    }

    /// The values as Floats.
    public func floats() throws -> [Float] {
        switch source {
        case .stored(let s): return try s.floats()
        case .file(let r, let name): return try r.floats(name)
        }
    }
}

extension WeightFile {
    /// Every tensor of a safetensors, torch zip or legacy torch file, to be read on demand. A
    /// safetensors file is validated and then streamed (`SafeTensorsReader`: no copy of its bytes is
    /// held); torch files are parsed as by `load` and their tensors read from memory. `key` as in `load`.
    public static func open(_ url: URL, key: String? = nil) throws -> [String: StreamedTensor] {
        if try isSafeTensors(url) {
            let reader = try SafeTensorsReader(contentsOf: url)
            var out: [String: StreamedTensor] = [:]
            for name in reader.tensors.keys { out[name] = try StreamedTensor(reader, name: name) }
            return out
        }
        return try load(url, key: key).mapValues { StreamedTensor($0) }
    }

    /// Whether the file's first bytes are those of a safetensors file (`detect`); unreadable
    /// files answer false and `load` then names the problem.
    static func isSafeTensors(_ url: URL) throws -> Bool {
        guard FileKind.problem(atPath: url.path) == nil, let h = FileHandle(forReadingAtPath: url.path) else { return false }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 512)) ?? Data()
        return detect(head) == .safetensors
    }
}
