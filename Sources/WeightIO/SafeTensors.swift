import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// safetensors (formats.md §3): u64 LE header length N, N bytes of UTF-8 JSON header (padded with
// spaces), then the byte buffer. Validation mirrors safetensors/src/tensor.rs (§3.4).

/// Every way a safetensors file can be rejected; each message names the file (and tensor).
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    /// File shorter than the 8-byte length prefix.
    case headerTooSmall(file: String, fileSize: Int)
    /// Header length above 100,000,000 bytes.
    case headerTooLarge(file: String, headerLength: UInt64)
    /// 8 + N is beyond the end of the file.
    case invalidHeaderLength(file: String, headerLength: UInt64, fileSize: Int)
    case headerNotUTF8(file: String)
    case headerNotObject(file: String)
    case invalidJSON(file: String, offset: Int, reason: String)
    case duplicateKey(file: String, key: String)
    case emptyTensorName(file: String)
    /// A tensor entry that is not `{"dtype", "shape", "data_offsets"}` with the right types.
    case invalidTensorEntry(file: String, tensor: String, reason: String)
    case unknownDType(file: String, tensor: String, dtype: String)
    case invalidMetadata(file: String, key: String, reason: String)
    /// A dim that is negative, fractional, not a number or above 2^48-1.
    case invalidDimension(file: String, tensor: String, value: String)
    /// An offset that is not a non-negative integer <= 2^48-1, or END < BEGIN.
    case invalidOffsets(file: String, tensor: String, reason: String)
    /// BEGIN beyond the previous tensor's END (an unused hole in the buffer).
    case gapInBuffer(file: String, tensor: String, begin: Int, expected: Int)
    /// BEGIN before the previous tensor's END (overlap or aliasing).
    case overlappingOffsets(file: String, tensor: String, begin: Int, previousEnd: Int)
    case shapeOverflow(file: String, tensor: String, shape: [Int])
    case byteSizeMismatch(file: String, tensor: String, expected: Int, actual: Int)
    /// File longer than header + buffer.
    case trailingBytes(file: String, extra: Int)
    /// File shorter than header + buffer: `tensor` is the first whose bytes run past the end.
    case truncatedBuffer(file: String, tensor: String, expectedSize: Int, fileSize: Int)
    /// Reading a tensor's bytes failed after the header was accepted (I/O error, file shrank).
    case readFailed(file: String, tensor: String, reason: String)
    case invalidWrite(file: String, reason: String)
    case writeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(f, r): return "\(f): cannot read safetensors file: \(r)"
        case let .headerTooSmall(f, s): return "\(f): header too small: file has \(s) bytes, need at least 8"
        case let .headerTooLarge(f, n): return "\(f): header too large: \(n) bytes (limit 100000000)"
        case let .invalidHeaderLength(f, n, s): return "\(f): invalid header length \(n): 8 + header exceeds the file size \(s)"
        case let .headerNotUTF8(f): return "\(f): header is not valid UTF-8"
        case let .headerNotObject(f): return "\(f): header does not start with '{'"
        case let .invalidJSON(f, o, r): return "\(f): invalid header JSON at byte \(o): \(r)"
        case let .duplicateKey(f, k): return "\(f): duplicate key \"\(k)\" in header"
        case let .emptyTensorName(f): return "\(f): empty tensor name in header"
        case let .invalidTensorEntry(f, t, r): return "\(f): tensor \"\(t)\": \(r)"
        case let .unknownDType(f, t, d): return "\(f): tensor \"\(t)\": unsupported dtype \"\(d)\""
        case let .invalidMetadata(f, k, r): return "\(f): __metadata__ \"\(k)\": \(r)"
        case let .invalidDimension(f, t, v): return "\(f): tensor \"\(t)\": invalid dimension \(v) (expected an integer in 0...2^48-1)"
        case let .invalidOffsets(f, t, r): return "\(f): tensor \"\(t)\": invalid data_offsets: \(r)"
        case let .gapInBuffer(f, t, b, e): return "\(f): tensor \"\(t)\": data begins at \(b) but the previous tensor ends at \(e) (gap in buffer)"
        case let .overlappingOffsets(f, t, b, e): return "\(f): tensor \"\(t)\": data begins at \(b) before the previous tensor ends at \(e) (overlap)"
        case let .shapeOverflow(f, t, s): return "\(f): tensor \"\(t)\": element count of shape \(s) overflows"
        case let .byteSizeMismatch(f, t, e, a): return "\(f): tensor \"\(t)\": shape and dtype need \(e) bytes, data_offsets span \(a)"
        case let .trailingBytes(f, x): return "\(f): \(x) trailing bytes after the last tensor"
        case let .truncatedBuffer(f, t, e, s): return "\(f): truncated: tensor \"\(t)\" needs bytes up to \(e), the file has \(s)"
        case let .readFailed(f, t, r): return "\(f): tensor \"\(t)\": cannot read its bytes: \(r)"
        case let .invalidWrite(f, r): return "\(f): cannot write: \(r)"
        case let .writeFailed(f, r): return "\(f): write failed: \(r)"
        }
    }
}

/// A parsed and fully validated safetensors file. Tensor bytes are slices of the file's bytes.
public struct SafeTensorsFile {
    /// The `__metadata__` map (empty if absent).
    public let metadata: [String: String]
    public let tensors: [String: StoredTensor]
    /// Tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    /// Reads and validates a file (memory-mapped when possible).
    public init(contentsOf url: URL) throws {
        let data: Data
        if let problem = FileKind.problem(atPath: url.path) { throw SafeTensorsError.unreadable(file: url.path, reason: problem) }
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw SafeTensorsError.unreadable(file: url.path, reason: "\(error.localizedDescription)")
        }
        try self.init(data: data, source: url.path)
    }

    /// Parses and validates in-memory bytes; `source` names them in errors.
    public init(data: Data, source: String = "<memory>") throws {
        let base = data.startIndex
        let layout = try SafeTensorsLayout(size: data.count, file: source) { r in [UInt8](data[(base + r.lowerBound)..<(base + r.upperBound)]) }
        var tensors: [String: StoredTensor] = [:]
        for t in layout.tensors {
            let slice = data[(base + layout.bufferStart + t.begin)..<(base + layout.bufferStart + t.end)]
            tensors[t.name] = try StoredTensor(dtype: t.dtype, shape: t.shape, bytes: slice)
        }
        self.metadata = layout.metadata
        self.tensors = tensors
    }
}

/// The validated layout of a safetensors file (its header checked against the file size), read
/// through `read` (byte ranges of the file) so that a file can be checked without reading its
/// tensors: `SafeTensorsFile` (bytes in memory) and `SafeTensorsReader` (streamed) share it.
struct SafeTensorsLayout {
    struct Entry { let name: String; let dtype: DType; let shape: [Int]; let begin: Int; let end: Int }
    let metadata: [String: String]
    /// In offset order; `begin`/`end` relative to `bufferStart`.
    let tensors: [Entry]
    /// 8 + header length.
    let bufferStart: Int

    init(size: Int, file f: String, read: (Range<Int>) throws -> [UInt8]) throws {
        // 1. length prefix
        guard size >= 8 else { throw SafeTensorsError.headerTooSmall(file: f, fileSize: size) }
        var n64: UInt64 = 0
        for (k, b) in try read(0..<8).enumerated() { n64 |= UInt64(b) << (8 * UInt64(k)) }
        // 2. limit, 3. within file
        guard n64 <= 100_000_000 else { throw SafeTensorsError.headerTooLarge(file: f, headerLength: n64) }
        let n = Int(n64)
        let bufferStart = 8 + n
        guard bufferStart <= size else {
            throw SafeTensorsError.invalidHeaderLength(file: f, headerLength: n64, fileSize: size)
        }
        // 4. UTF-8 JSON object
        let headerBytes = try read(8..<bufferStart)
        guard String(bytes: headerBytes, encoding: .utf8) != nil else { throw SafeTensorsError.headerNotUTF8(file: f) }
        guard headerBytes.first == UInt8(ascii: "{") else { throw SafeTensorsError.headerNotObject(file: f) }
        let json: JSONValue
        do { json = try StrictJSON.parse(headerBytes) } catch let e as JSONFailure {
            switch e {
            case let .syntax(o, r): throw SafeTensorsError.invalidJSON(file: f, offset: o, reason: r)
            case let .duplicateKey(k): throw SafeTensorsError.duplicateKey(file: f, key: k)
            }
        }
        guard case let .object(entries) = json else { throw SafeTensorsError.headerNotObject(file: f) }

        var metadata: [String: String] = [:]
        var infos: [Entry] = []
        for (name, value) in entries {
            if name == "__metadata__" {
                guard case let .object(items) = value else {
                    throw SafeTensorsError.invalidMetadata(file: f, key: "__metadata__", reason: "expected an object, found \(value.kind)")
                }
                for (k, v) in items {
                    guard case let .string(s) = v else {
                        throw SafeTensorsError.invalidMetadata(file: f, key: k, reason: "value must be a string, found \(v.kind)")
                    }
                    metadata[k] = s
                }
                continue
            }
            guard !name.isEmpty else { throw SafeTensorsError.emptyTensorName(file: f) }
            infos.append(try Self.parseEntry(name: name, value: value, file: f))
        }

        // 5. contiguous, non-overlapping coverage of the buffer in offset order
        infos.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var previousEnd = 0
        for t in infos {
            if t.begin > previousEnd { throw SafeTensorsError.gapInBuffer(file: f, tensor: t.name, begin: t.begin, expected: previousEnd) }
            if t.begin < previousEnd { throw SafeTensorsError.overlappingOffsets(file: f, tensor: t.name, begin: t.begin, previousEnd: previousEnd) }
            // 6. byte size = elements * dtype size
            guard let count = checkedElementCount(t.shape) else {
                throw SafeTensorsError.shapeOverflow(file: f, tensor: t.name, shape: t.shape)
            }
            let (bytes, o) = count.multipliedReportingOverflow(by: t.dtype.size)
            guard !o else { throw SafeTensorsError.shapeOverflow(file: f, tensor: t.name, shape: t.shape) }
            guard bytes == t.end - t.begin else {
                throw SafeTensorsError.byteSizeMismatch(file: f, tensor: t.name, expected: bytes, actual: t.end - t.begin)
            }
            previousEnd = t.end
        }
        // 7. buffer covers the rest of the file exactly (offsets are <= 2^48, no overflow here)
        let expected = bufferStart + previousEnd
        if expected < size { throw SafeTensorsError.trailingBytes(file: f, extra: size - expected) }
        if expected > size, let first = infos.first(where: { bufferStart + $0.end > size }) {
            throw SafeTensorsError.truncatedBuffer(file: f, tensor: first.name, expectedSize: bufferStart + first.end, fileSize: size)
        }
        self.metadata = metadata
        self.tensors = infos
        self.bufferStart = bufferStart
    }

    /// Largest dim/offset allowed by the schema (2^48 - 1).
    static let maxInteger = (1 << 48) - 1

    /// A non-negative integer literal <= 2^48-1, else nil.
    static func smallInteger(_ v: JSONValue) -> Int? {
        guard case let .number(text) = v, !text.isEmpty, text.count <= 15,
              text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let x = Int(text), x <= maxInteger else { return nil }
        return x
    }

    private static func parseEntry(name: String, value: JSONValue, file f: String) throws -> Entry {
        guard case let .object(fields) = value else {
            throw SafeTensorsError.invalidTensorEntry(file: f, tensor: name, reason: "expected an object, found \(value.kind)")
        }
        var dtypeV: JSONValue?, shapeV: JSONValue?, offsetsV: JSONValue?
        for (k, v) in fields {
            switch k {
            case "dtype": dtypeV = v
            case "shape": shapeV = v
            case "data_offsets": offsetsV = v
            default: throw SafeTensorsError.invalidTensorEntry(file: f, tensor: name, reason: "unexpected field \"\(k)\"")
            }
        }
        guard let dtypeV, let shapeV, let offsetsV else {
            throw SafeTensorsError.invalidTensorEntry(file: f, tensor: name, reason: "needs fields dtype, shape and data_offsets")
        }
        guard case let .string(dtypeName) = dtypeV else {
            throw SafeTensorsError.invalidTensorEntry(file: f, tensor: name, reason: "dtype must be a string, found \(dtypeV.kind)")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(file: f, tensor: name, dtype: dtypeName)
        }
        guard case let .array(dims) = shapeV else {
            throw SafeTensorsError.invalidTensorEntry(file: f, tensor: name, reason: "shape must be an array, found \(shapeV.kind)")
        }
        var shape: [Int] = []
        for d in dims {
            guard let x = smallInteger(d) else {
                let text: String
                if case let .number(s) = d { text = s } else { text = d.kind }
                throw SafeTensorsError.invalidDimension(file: f, tensor: name, value: text)
            }
            shape.append(x)
        }
        guard case let .array(offs) = offsetsV, offs.count == 2 else {
            throw SafeTensorsError.invalidOffsets(file: f, tensor: name, reason: "expected [BEGIN, END]")
        }
        guard let begin = smallInteger(offs[0]), let end = smallInteger(offs[1]) else {
            throw SafeTensorsError.invalidOffsets(file: f, tensor: name, reason: "offsets must be integers in 0...2^48-1")
        }
        guard end >= begin else {
            throw SafeTensorsError.invalidOffsets(file: f, tensor: name, reason: "END \(end) < BEGIN \(begin)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }
}

/// Loading and writing safetensors files.
public enum SafeTensors {
    /// Every tensor converted to a Float32 `Tensor` (integer tensors by value).
    public static func load(_ url: URL) throws -> [String: Tensor] {
        let file = try SafeTensorsFile(contentsOf: url)
        var out: [String: Tensor] = [:]
        for (k, t) in file.tensors { out[k] = try t.tensor() }
        return out
    }

    /// Writes Float32 tensors (dtype F32).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try write(tensors.mapValues { StoredTensor($0) }, metadata: metadata, to: url)
    }

    /// Writes stored tensors of any dtype, like the reference writer: tensors sorted by element
    /// size (descending) then name, header padded with spaces to a multiple of 8 so every tensor is
    /// aligned to its element size. Written to a temporary file in the same folder, then renamed.
    public static func write(_ tensors: [String: StoredTensor], metadata: [String: String] = [:], to url: URL) throws {
        let path = url.path
        let data = try encode(tensors, metadata: metadata, file: path)
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: tmp)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw SafeTensorsError.writeFailed(file: path, reason: error.localizedDescription)
        }
        if rename(tmp.path, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw SafeTensorsError.writeFailed(file: path, reason: "rename: \(reason)")
        }
    }

    /// The complete file bytes for `tensors` (see `write`).
    public static func encode(_ tensors: [String: StoredTensor], metadata: [String: String] = [:], file: String = "<memory>") throws -> Data {
        let order = tensors.keys.sorted { a, b in
            let (sa, sb) = (tensors[a]!.dtype.size, tensors[b]!.dtype.size)
            return sa != sb ? sa > sb : a < b
        }
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for name in order {
            guard !name.isEmpty else { throw SafeTensorsError.invalidWrite(file: file, reason: "empty tensor name") }
            guard name != "__metadata__" else { throw SafeTensorsError.invalidWrite(file: file, reason: "tensor named __metadata__") }
            let t = tensors[name]!
            let end = offset + t.bytes.count
            parts.append("\(jsonQuoted(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(parts.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = Data(capacity: 8 + header.count + offset)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for name in order { out.append(tensors[name]!.bytes) }
        return out
    }
}
