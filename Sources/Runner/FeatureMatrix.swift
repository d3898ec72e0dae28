import CHeadKernels
import Foundation
import Specs
import Tensors

/// Cached feature rows [rows, cols], stored as Float32 or as IEEE half precision (Float16,
/// round-to-nearest-even when written, exact when read back as Float32). Float16 halves the
/// memory and the disk size of a feature cache. The heads read the stored rows in place
/// (`withRowStorage`, `FeatureHead`: decoded exactly to Float32 inside the kernels); other
/// consumers read Float32 rows through `gather` / `rows`. Either way the heads compute in Float32.
final class FeatureMatrix: @unchecked Sendable {
    let rows: Int
    let cols: Int
    let dtype: FeatureCacheDType
    /// rows * cols stored values (Float32, or half-precision bit patterns): zero-filled memory of
    /// this matrix's own, or a read-only window of a mapped cache file (`FeatureFileMapping`).
    private let base: UnsafeMutableRawPointer
    /// Bytes of this matrix's own anonymous mapping (0: a window of a mapped cache file).
    private let ownedBytes: Int
    /// Keeps a mapped file mapped while a matrix reads it.
    private let mapping: FeatureFileMapping?

    /// Zero-filled rows, to be written by `setRows`: fresh zero pages of an anonymous mapping, so
    /// gigabytes are not written twice, marked for transparent huge pages (where the kernel
    /// offers them on request, as Debian's does), so that the heads' random rows cost fewer
    /// TLB misses (the forward kernel ran ~4% faster on a 2 GB table).
    init(rows: Int, cols: Int, dtype: FeatureCacheDType) {
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        let bytes = max(1, FeatureMatrix.byteCount(rows: rows, cols: cols, dtype: dtype))
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("feature matrix: cannot allocate \(bytes) bytes")
        }
        #if os(Linux)
        _ = madvise(p, bytes, Int32(MADV_HUGEPAGE))
        #endif
        base = p
        ownedBytes = bytes
        mapping = nil
    }

    /// The rows stored at `offset` of a mapped cache file, read in place (never written).
    init(rows: Int, cols: Int, dtype: FeatureCacheDType, mapping: FeatureFileMapping, offset: Int) {
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        precondition(offset >= 0 && offset + FeatureMatrix.byteCount(rows: rows, cols: cols, dtype: dtype) <= mapping.count,
                     "feature matrix: bytes \(offset)+ outside the \(mapping.count)-byte mapping")
        base = mapping.base + offset
        ownedBytes = 0
        self.mapping = mapping
    }

    deinit { if ownedBytes > 0 { munmap(base, ownedBytes) } }

    private var f32: UnsafeMutablePointer<Float> { base.assumingMemoryBound(to: Float.self) }
    private var f16: UnsafeMutablePointer<UInt16> { base.assumingMemoryBound(to: UInt16.self) }

    /// Bytes per stored value.
    var elementSize: Int { FeatureMatrix.elementSize(dtype) }
    var byteCount: Int { FeatureMatrix.byteCount(rows: rows, cols: cols, dtype: dtype) }

    /// Bytes of `rows` x `cols` values stored as `dtype`.
    static func byteCount(rows: Int, cols: Int, dtype: FeatureCacheDType) -> Int { rows * cols * elementSize(dtype) }
    static func elementSize(_ dtype: FeatureCacheDType) -> Int { dtype == .float32 ? 4 : 2 }

    /// Stores `count` rows of `src` ([count, cols], Float32) at rows `destRows[0..<count]`.
    func setRows(_ destRows: ArraySlice<Int>, from src: Tensor) {
        precondition(src.count == destRows.count * cols, "setRows: \(src.shape) for \(destRows.count) rows of \(cols)")
        precondition(ownedBytes > 0, "setRows: the rows of a mapped cache file are read-only")
        let dest = Array(destRows)
        src.data.withUnsafeBufferPointer { ps in
            let s = ps.baseAddress!, c = cols
            switch dtype {
            case .float32:
                let d = f32
                for (r, row) in dest.enumerated() { (d + row * c).update(from: s + r * c, count: c) }
            case .float16:
                let d = f16
                parallelFor(dest.count) { range in
                    for r in range { HalfPrecision.encode(s + r * c, d + dest[r] * c, count: c) }
                }
            }
        }
    }

    /// Rows at `indices` in that order, as Float32 [indices.count, cols].
    func gather<C: Collection>(_ indices: C) -> Tensor where C.Element == Int {
        let idx = Array(indices), n = idx.count * cols
        // every element is written by the gather: no zero fill first (a batch is megabytes)
        let data = [Float](unsafeUninitializedCapacity: n) { buf, count in
            if n > 0 { gather(idx, into: buf.baseAddress!) }
            count = n
        }
        return Tensor(shape: [idx.count, cols], data: data)
    }

    /// Writes rows `indices` (Float32) into `dst` [indices.count, cols], in parallel.
    func gather(_ indices: [Int], into dst: UnsafeMutablePointer<Float>) {
        for i in indices { precondition(i >= 0 && i < rows, "feature row \(i) out of range 0..<\(rows)") }
        let c = cols
        switch dtype {
        case .float32:
            let s = UnsafePointer(f32)
            parallelFor(indices.count, minChunk: max(1, 32768 / max(1, c))) { range in
                for r in range { (dst + r * c).update(from: s + indices[r] * c, count: c) }
            }
        case .float16:
            let s = UnsafePointer(f16)
            parallelFor(indices.count, minChunk: max(1, 16384 / max(1, c))) { range in
                for r in range { HalfPrecision.decode(s + indices[r] * c, dst + r * c, count: c) }
            }
        }
    }

    /// Rows `range` as Float32.
    func rows(_ range: Range<Int>) -> Tensor { gather(Array(range)) }

    /// The stored rows in place, as the head kernels read them (`CHeadKernels`: HK_F32 or HK_F16).
    func withRowStorage<R>(_ body: (UnsafeRawPointer, Int32) throws -> R) rethrows -> R {
        try body(UnsafeRawPointer(base), Int32(dtype == .float32 ? HK_F32 : HK_F16))
    }

    /// Raw storage for the cache file (little-endian F32 or F16 values, row-major).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: byteCount))
    }
}

/// A cache file mapped read-only into memory (`mmap`, MAP_PRIVATE, pages populated up front):
/// the feature matrices read its rows where the page cache holds them, so a multi-gigabyte
/// cache is neither copied into a buffer of its own nor zero-filled first. The cache file is
/// only ever replaced by a rename (`FeatureCache.write`), never rewritten in place, so the
/// mapped inode stays whole while it is mapped.
final class FeatureFileMapping: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int

    /// Maps the whole of `path`; nil when it cannot be opened or mapped, or is empty.
    init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return nil }
        let n = Int(st.st_size)
        #if os(Linux)
        let flags = MAP_PRIVATE | MAP_POPULATE
        #else
        let flags = MAP_PRIVATE
        #endif
        guard let p = mmap(nil, n, PROT_READ, flags, fd, 0), p != MAP_FAILED else { return nil }
        base = p
        count = n
    }

    deinit { munmap(base, count) }
}

/// IEEE 754 binary16 conversions of the Float16 feature cache, in integer arithmetic (no
/// dependence on hardware half-precision support).
public enum HalfPrecision {

    /// Float32 -> Float16 bit patterns, IEEE round-to-nearest-even (overflow to ±inf, NaN kept):
    /// by the CPU's F16C conversion where it has one (`hk_encode_f16`, the same bits), the rest
    /// by `bits`.
    public static func encode(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in hk_encode_f16(src, dst, count)..<count { dst[i] = bits(src[i]) }
    }

    /// One Float32 -> Float16 conversion, round-to-nearest-even, in integer arithmetic.
    @inline(__always)
    public static func bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        let sign = UInt16((b >> 16) & 0x8000)
        let exp = Int((b >> 23) & 0xff)
        let man = b & 0x7f_ffff
        if exp == 0xff { return sign | 0x7c00 | (man != 0 ? UInt16(0x200 | (man >> 13)) : 0) }  // inf, NaN (quiet)
        let e = exp - 127 + 15
        if e >= 0x1f { return sign | 0x7c00 }  // overflow
        if e <= 0 {
            // subnormal half (or zero): value = m * 2^-24 with m = round(|x| * 2^24)
            if e < -10 { return sign }  // below half the smallest subnormal: rounds to zero
            let full = man | 0x80_0000   // 24-bit significand
            let shift = UInt32(14 - e)   // 14..24
            var m = full >> shift
            let rem = full & ((1 << shift) - 1), half = UInt32(1) << (shift - 1)
            if rem > half || (rem == half && (m & 1) == 1) { m += 1 }
            return sign | UInt16(m)  // m may carry into the smallest normal: still correct
        }
        var h = UInt32(e) << 10 | (man >> 13)
        let rem = man & 0x1fff
        if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }  // may carry into the exponent (to inf)
        return sign | UInt16(h)
    }

    /// Float16 bit patterns -> Float32 (exact). Branch-free so the loop vectorises.
    public static func decode(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] = float(src[i]) }
    }

    @inline(__always)
    public static func float(_ h: UInt16) -> Float {
        let x = UInt32(h)
        let sign = (x & 0x8000) << 16
        let mag = (x & 0x7fff) << 13
        // normals and subnormals: reinterpret with the exponent re-biased by 2^(127-15)
        let scaled = (Float(bitPattern: mag) * 0x1p112).bitPattern
        let special = 0x7f80_0000 | mag  // exponent 31: inf / NaN
        let bits = (x & 0x7c00) == 0x7c00 ? special : scaled
        return Float(bitPattern: sign | bits)
    }
}
