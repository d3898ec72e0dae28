import Foundation
import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file opened for streaming. The header is read and validated up front with the
/// checks of `SafeTensorsFile` (formats.md §3.4, against the file's size); tensor bytes are read
/// only on request, with `pread` in chunks straight into the caller's Float buffer. Nothing of
/// the file stays in memory: loading a 1.2 GB BERT-large file into a model costs the model's
/// parameters and one chunk, not a second (and third) copy of the weights.
public final class SafeTensorsReader: @unchecked Sendable {
    /// Where a tensor's bytes are: dtype, shape and the absolute file offset of its first byte.
    public struct Location: Sendable {
        public let dtype: DType
        public let shape: [Int]
        public let offset: Int
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The path, as given (named in every error).
    public let path: String
    /// The `__metadata__` map (empty if absent).
    public let metadata: [String: String]
    public let tensors: [String: Location]
    /// Tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }
    private let fd: Int32

    /// Bytes read per `pread` (and converted per step for non-F32 dtypes).
    public static let defaultChunkBytes = 4 << 20

    /// Opens `url` and validates its header; throws `SafeTensorsError` naming the file (and tensor).
    public init(contentsOf url: URL) throws {
        let path = url.path
        if let problem = FileKind.problem(atPath: path) { throw SafeTensorsError.unreadable(file: path, reason: problem) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafeTensorsError.unreadable(file: path, reason: String(cString: strerror(errno))) }
        do {
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw SafeTensorsError.unreadable(file: path, reason: String(cString: strerror(errno))) }
            let layout = try SafeTensorsLayout(size: Int(st.st_size), file: path) { range in
                var bytes = [UInt8](repeating: 0, count: range.count)
                try bytes.withUnsafeMutableBytes { try Self.readFully(fd, into: $0, at: range.lowerBound, file: path, tensor: "(header)") }
                return bytes
            }
            var tensors: [String: Location] = [:]
            for t in layout.tensors {
                tensors[t.name] = Location(dtype: t.dtype, shape: t.shape, offset: layout.bufferStart + t.begin)
            }
            self.path = path
            self.metadata = layout.metadata
            self.tensors = tensors
            self.fd = fd
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// Reads tensor `name` converted to Float (as `StoredTensor.floats()` converts) into `out`,
    /// which must hold exactly its element count. F32 bytes go straight into `out`; other dtypes
    /// through one buffer of `chunkBytes` (tests pass small ones to cross element boundaries).
    public func read(_ name: String, into out: UnsafeMutableBufferPointer<Float>, chunkBytes: Int = defaultChunkBytes) throws {
        guard let loc = tensors[name] else { throw SafeTensorsError.readFailed(file: path, tensor: name, reason: "no such tensor") }
        precondition(out.count == loc.elementCount, "SafeTensorsReader.read: \(out.count) floats for \(name) of shape \(loc.shape)")
        guard let base = out.baseAddress, out.count > 0 else { return }
        #if _endian(little)
        if loc.dtype == .F32 {
            try Self.readFully(fd, into: UnsafeMutableRawBufferPointer(start: base, count: out.count * 4), at: loc.offset,
                               file: path, tensor: name, chunkBytes: chunkBytes)
            return
        }
        #endif
        let size = loc.dtype.size
        let perChunk = max(1, chunkBytes / size)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: perChunk * size, alignment: 16)
        defer { buffer.deallocate() }
        var done = 0
        while done < out.count {
            let n = min(perChunk, out.count - done)
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(n * size)])
            try Self.readFully(fd, into: part, at: loc.offset + done * size, file: path, tensor: name, chunkBytes: chunkBytes)
            DType.convert(UnsafeRawBufferPointer(part), loc.dtype, into: base + done, count: n)
            done += n
        }
    }

    /// Tensor `name` as Floats.
    public func floats(_ name: String, chunkBytes: Int = defaultChunkBytes) throws -> [Float] {
        guard let loc = tensors[name] else { throw SafeTensorsError.readFailed(file: path, tensor: name, reason: "no such tensor") }
        let n = loc.elementCount
        return try [Float](unsafeUninitializedCapacity: n) { buf, count in
            count = 0
            try read(name, into: buf, chunkBytes: chunkBytes)
            count = n
        }
    }

    /// `pread` until `into` is full; a short file or an I/O error throws `readFailed`.
    static func readFully(_ fd: Int32, into: UnsafeMutableRawBufferPointer, at offset: Int, file: String, tensor: String,
                          chunkBytes: Int = defaultChunkBytes) throws {
        var done = 0
        while done < into.count {
            let want = min(into.count - done, max(1, chunkBytes))
            let got = pread(fd, into.baseAddress! + done, want, off_t(offset + done))
            if got < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError.readFailed(file: file, tensor: tensor, reason: String(cString: strerror(errno)))
            }
            if got == 0 {
                throw SafeTensorsError.readFailed(file: file, tensor: tensor,
                                                  reason: "the file ends at byte \(offset + done), \(into.count - done) byte(s) early (changed while reading?)")
            }
            done += got
        }
    }
}
