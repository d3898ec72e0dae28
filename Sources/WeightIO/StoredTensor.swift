import Foundation
import Tensors

/// A tensor exactly as stored in a weight file: dtype, shape and its contiguous row-major
/// little-endian bytes (a slice of the file's bytes where possible, not a copy).
public struct StoredTensor: Equatable, Sendable {
    public let dtype: DType
    public let shape: [Int]
    /// Exactly `elementCount * dtype.size` bytes, row-major, little-endian.
    public let bytes: Data

    /// Wraps raw bytes; the byte count must match shape and dtype.
    public init(dtype: DType, shape: [Int], bytes: Data) throws {
        guard let n = checkedElementCount(shape) else {
            throw StoredTensorError.byteCountMismatch(shape: shape, dtype: dtype, bytes: bytes.count)
        }
        let (b, o) = n.multipliedReportingOverflow(by: dtype.size)
        guard !o, b == bytes.count else {
            throw StoredTensorError.byteCountMismatch(shape: shape, dtype: dtype, bytes: bytes.count)
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// An F32 tensor from a `Tensor`.
    public init(_ tensor: Tensor) {
        self.dtype = .F32
        self.shape = tensor.shape
        self.bytes = tensor.data.withUnsafeBufferPointer { p in littleEndianData(p) }
    }

    /// An I64 tensor (e.g. `num_batches_tracked`, `position_ids`).
    public init(int64s values: [Int64], shape: [Int]) throws {
        guard let n = checkedElementCount(shape), n == values.count else {
            throw StoredTensorError.byteCountMismatch(shape: shape, dtype: .I64, bytes: values.count * 8)
        }
        self.dtype = .I64
        self.shape = shape
        self.bytes = values.withUnsafeBufferPointer { p in littleEndianData(p) }
    }

    /// Number of elements (1 for a scalar, shape []).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Every element converted to Float (integers and bools by value; F64 rounded to nearest).
    public func floats() throws -> [Float] {
        let n = elementCount
        return try [Float](unsafeUninitializedCapacity: n) { buf, count in
            try read(into: buf)
            count = n
        }
    }

    /// Writes every element, converted as by `floats()`, into `out` (exactly `elementCount` long).
    public func read(into out: UnsafeMutableBufferPointer<Float>) throws {
        precondition(out.count == elementCount, "StoredTensor.read: \(out.count) floats for shape \(shape)")
        bytes.withUnsafeBytes { raw in
            if out.count > 0 { DType.convert(raw, dtype, into: out.baseAddress!, count: out.count) }
        }
    }

    /// Every element as Int64; only for integer and bool dtypes (U64 values above Int64.max are refused).
    public func int64s() throws -> [Int64] {
        let n = elementCount
        if dtype.isFloatingPoint { throw StoredTensorError.notInteger(dtype: dtype) }
        return try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Int64] in
            switch dtype {
            case .I64: return (0..<n).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            case .I32: return (0..<n).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
            case .I16: return (0..<n).map { Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
            case .U64:
                return try (0..<n).map {
                    let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))
                    guard v <= UInt64(Int64.max) else { throw StoredTensorError.valueOutOfRange(dtype: dtype) }
                    return Int64(v)
                }
            case .U32: return (0..<n).map { Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            case .U16: return (0..<n).map { Int64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
            case .I8: return (0..<n).map { Int64(Int8(bitPattern: raw[$0])) }
            case .U8: return (0..<n).map { Int64(raw[$0]) }
            case .BOOL: return (0..<n).map { raw[$0] != 0 ? 1 : 0 }
            case .F64, .F32, .F16, .BF16: return []
            }
        }
    }

    /// The values as a Float32 `Tensor` of the same shape (see `floats()`).
    public func tensor() throws -> Tensor { Tensor(shape: shape, data: try floats()) }
}

/// Name used in the design brief for writer input: writers take `StoredTensor`s.
public typealias StoredTensorData = StoredTensor

/// Errors of `StoredTensor` construction and conversion.
public enum StoredTensorError: Error, CustomStringConvertible, Equatable {
    case byteCountMismatch(shape: [Int], dtype: DType, bytes: Int)
    case notInteger(dtype: DType)
    case valueOutOfRange(dtype: DType)

    public var description: String {
        switch self {
        case let .byteCountMismatch(shape, dtype, bytes):
            return "stored tensor: shape \(shape) of \(dtype.rawValue) does not match \(bytes) bytes"
        case let .notInteger(dtype):
            return "stored tensor: int64s() needs an integer dtype, tensor is \(dtype.rawValue)"
        case let .valueOutOfRange(dtype):
            return "stored tensor: a \(dtype.rawValue) value does not fit in Int64"
        }
    }
}

/// Product of dims; nil on overflow or a negative dim.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        if o { return nil }
        n = p
    }
    return n
}

/// Bytes of a buffer of fixed-width numbers in little-endian order.
func littleEndianData<T>(_ p: UnsafeBufferPointer<T>) -> Data {
    #if _endian(little)
    return Data(buffer: p)
    #else
    fatalError("big-endian hosts are not supported")
    #endif
}
