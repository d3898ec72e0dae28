import Foundation

/// Element types of stored tensors, spelled as in safetensors headers.
/// Storage is always little-endian in the files this module reads and writes.
public enum DType: String, CaseIterable, Sendable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .F64, .I64, .U64: return 8
        case .F32, .I32, .U32: return 4
        case .F16, .BF16, .I16, .U16: return 2
        case .I8, .U8, .BOOL: return 1
        }
    }

    /// True for F64/F32/F16/BF16.
    public var isFloatingPoint: Bool {
        switch self {
        case .F64, .F32, .F16, .BF16: return true
        default: return false
        }
    }

    /// The PyTorch storage class name (`FloatStorage` ...) for this dtype, if any.
    public var torchStorageName: String? {
        switch self {
        case .F64: return "DoubleStorage"
        case .F32: return "FloatStorage"
        case .F16: return "HalfStorage"
        case .BF16: return "BFloat16Storage"
        case .I64: return "LongStorage"
        case .I32: return "IntStorage"
        case .I16: return "ShortStorage"
        case .I8: return "CharStorage"
        case .U8: return "ByteStorage"
        case .BOOL: return "BoolStorage"
        case .U16, .U32, .U64: return nil
        }
    }

    /// Inverse of `torchStorageName`.
    public init?(torchStorageName name: String) {
        guard let d = DType.allCases.first(where: { $0.torchStorageName == name }) else { return nil }
        self = d
    }
}

extension DType {
    /// `count` elements of this dtype (little-endian, any alignment) at `raw` converted to Float
    /// into `out` (integers and bools by value; F64 rounded to nearest). Loaders share it, so a
    /// tensor read whole and one streamed in chunks get the same floats.
    static func convert(_ raw: UnsafeRawBufferPointer, _ dtype: DType, into out: UnsafeMutablePointer<Float>, count n: Int) {
        precondition(raw.count >= n * dtype.size, "DType.convert: \(raw.count) bytes for \(n) \(dtype.rawValue)")
        func each(_ f: (Int) -> Float) { for i in 0..<n { out[i] = f(i) } }
        switch dtype {
        case .F32:
            #if _endian(little)
            UnsafeMutableRawPointer(out).copyMemory(from: raw.baseAddress!, byteCount: n * 4)
            #else
            each { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            #endif
        case .F64: each { Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }
        case .F16: each { halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .BF16: each { bfloat16ToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .I64: each { Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
        case .I32: each { Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
        case .I16: each { Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
        case .U64: each { Float(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
        case .U32: each { Float(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        case .U16: each { Float(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .I8: each { Float(Int8(bitPattern: raw[$0])) }
        case .U8: each { Float(raw[$0]) }
        case .BOOL: each { raw[$0] != 0 ? 1 : 0 }
        }
    }
}

/// IEEE half (binary16) bits to Float, exact for every value (subnormals, inf, NaN).
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1F)
    let mant = UInt32(h & 0x3FF)
    if exp == 0 {
        // zero or subnormal: mant * 2^-24
        let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | (UInt32(exp - 15 + 127) << 23) | (mant << 13))
}

/// bfloat16 bits to Float (exact: bf16 is the top half of an f32).
@inline(__always)
func bfloat16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
