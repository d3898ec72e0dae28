import Foundation

// Minimal read-only zip reader for torch.save archives (formats.md §4.1): classic and ZIP64
// end-of-central-directory records, ZIP64 extra fields, stored (method 0) entries only.
// Entry data start is computed from the LOCAL header (its extra field differs from the central one).

/// Zip container problems; each names the file (and entry).
public enum ZipError: Error, CustomStringConvertible, Equatable {
    case missingEndOfCentralDirectory(file: String)
    case truncated(file: String, what: String)
    case badSignature(file: String, what: String, offset: Int)
    case multiDisk(file: String)
    case compressedEntry(file: String, entry: String, method: Int)
    case encryptedEntry(file: String, entry: String)
    case entryOutOfBounds(file: String, entry: String)
    case duplicateEntry(file: String, entry: String)
    case missingEntry(file: String, entry: String)

    public var description: String {
        switch self {
        case let .missingEndOfCentralDirectory(f): return "\(f): not a zip archive or truncated: no end-of-central-directory record"
        case let .truncated(f, w): return "\(f): zip truncated: \(w) extends beyond the end of the file"
        case let .badSignature(f, w, o): return "\(f): zip corrupt: expected \(w) signature at offset \(o)"
        case let .multiDisk(f): return "\(f): multi-disk zip archives are not supported"
        case let .compressedEntry(f, e, m): return "\(f): zip entry \(e) is compressed (method \(m)); only stored (method 0) entries are supported — re-save with torch.save"
        case let .encryptedEntry(f, e): return "\(f): zip entry \(e) is encrypted"
        case let .entryOutOfBounds(f, e): return "\(f): zip entry \(e) lies outside the file (truncated archive?)"
        case let .duplicateEntry(f, e): return "\(f): zip entry \(e) appears twice"
        case let .missingEntry(f, e): return "\(f): zip archive has no entry \(e)"
        }
    }
}

/// One central-directory entry.
public struct ZipEntry: Equatable {
    public let name: String
    public let method: Int
    public let flags: Int
    public let compressedSize: Int
    public let uncompressedSize: Int
    public let localHeaderOffset: Int
}

/// A zip archive over in-memory (usually memory-mapped) bytes.
public struct ZipArchive {
    public let file: String
    public let entries: [ZipEntry]
    private let data: Data
    private let byName: [String: Int]

    public init(data: Data, file: String) throws {
        self.file = file
        self.data = data
        let r = ByteReader(data: data)
        let size = data.count

        let (count, cdSize, cdOffset) = try Self.centralDirectory(r, size: size, file: file)

        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        var byName: [String: Int] = [:]
        var q = cdOffset
        let cdEnd = cdOffset + cdSize
        for _ in 0..<count {
            guard q + 46 <= cdEnd else { throw ZipError.truncated(file: file, what: "central directory entry") }
            guard r.u32(q) == 0x0201_4b50 else { throw ZipError.badSignature(file: file, what: "central directory entry", offset: q) }
            let flags = Int(r.u16(q + 8)), method = Int(r.u16(q + 10))
            var csize = UInt64(r.u32(q + 20)), usize = UInt64(r.u32(q + 24))
            let nameLen = Int(r.u16(q + 28)), extraLen = Int(r.u16(q + 30)), commentLen = Int(r.u16(q + 32))
            var local = UInt64(r.u32(q + 42))
            guard q + 46 + nameLen + extraLen + commentLen <= cdEnd else {
                throw ZipError.truncated(file: file, what: "central directory entry")
            }
            let name = String(decoding: data[(data.startIndex + q + 46)..<(data.startIndex + q + 46 + nameLen)], as: UTF8.self)
            // ZIP64 extra field (id 1): present values replace the 0xFFFFFFFF placeholders, in order.
            var e = q + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = r.u16(e), len = Int(r.u16(e + 2))
                guard e + 4 + len <= extraEnd else { break }
                if id == 0x0001 {
                    var f = e + 4
                    if usize == 0xFFFF_FFFF, f + 8 <= e + 4 + len { usize = r.u64(f); f += 8 }
                    if csize == 0xFFFF_FFFF, f + 8 <= e + 4 + len { csize = r.u64(f); f += 8 }
                    if local == 0xFFFF_FFFF, f + 8 <= e + 4 + len { local = r.u64(f); f += 8 }
                }
                e += 4 + len
            }
            guard csize <= UInt64(size), usize <= UInt64(size) || method != 0, local <= UInt64(size) else {
                throw ZipError.entryOutOfBounds(file: file, entry: name)
            }
            guard byName[name] == nil else { throw ZipError.duplicateEntry(file: file, entry: name) }
            byName[name] = entries.count
            entries.append(ZipEntry(name: name, method: method, flags: flags, compressedSize: Int(csize),
                                    uncompressedSize: Int(min(usize, UInt64(Int.max))), localHeaderOffset: Int(local)))
            q += 46 + nameLen + extraLen + commentLen
        }
        self.entries = entries
        self.byName = byName
    }

    /// The central directory's entry count, size and offset, from the end-of-central-directory
    /// record (the last 22 + comment bytes) or its ZIP64 form, checked against the archive size.
    private static func centralDirectory(_ r: ByteReader, size: Int, file: String) throws -> (count: Int, size: Int, offset: Int) {
        // End of central directory: last 22 + comment (≤ 65535) bytes.
        guard size >= 22 else { throw ZipError.missingEndOfCentralDirectory(file: file) }
        var eocd = -1
        var p = size - 22
        let lowest = max(0, size - 22 - 65535)
        while p >= lowest {
            if r.u32(p) == 0x0605_4b50 && p + 22 + Int(r.u16(p + 20)) == size { eocd = p; break }
            p -= 1
        }
        if eocd < 0 {
            // Tolerate a comment length that does not reach the end exactly.
            p = size - 22
            while p >= lowest { if r.u32(p) == 0x0605_4b50 { eocd = p; break }; p -= 1 }
        }
        guard eocd >= 0 else { throw ZipError.missingEndOfCentralDirectory(file: file) }
        var diskNumber = Int(r.u16(eocd + 4)), cdDisk = Int(r.u16(eocd + 6))
        var count = Int(r.u16(eocd + 10))
        var cdSize = Int(r.u32(eocd + 12)), cdOffset = Int(r.u32(eocd + 16))

        // ZIP64 locator sits right before the classic record.
        if eocd >= 20, r.u32(eocd - 20) == 0x0706_4b50 {
            let z64 = r.u64(eocd - 20 + 8)
            guard size >= 56, z64 <= UInt64(size - 56) else { throw ZipError.truncated(file: file, what: "ZIP64 end-of-central-directory record") }
            let o = Int(z64)
            guard r.u32(o) == 0x0606_4b50 else { throw ZipError.badSignature(file: file, what: "ZIP64 end-of-central-directory", offset: o) }
            diskNumber = Int(r.u32(o + 16)); cdDisk = Int(r.u32(o + 20))
            let c = r.u64(o + 32), s = r.u64(o + 40), off = r.u64(o + 48)
            guard c <= UInt64(size), s <= UInt64(size), off <= UInt64(size) else {
                throw ZipError.truncated(file: file, what: "central directory")
            }
            count = Int(c); cdSize = Int(s); cdOffset = Int(off)
        }
        guard diskNumber == 0, cdDisk == 0 else { throw ZipError.multiDisk(file: file) }
        guard cdOffset <= size, cdSize <= size - cdOffset else { throw ZipError.truncated(file: file, what: "central directory") }
        // Each central header is ≥ 46 bytes: bounds the entry count before reserving anything.
        guard count <= cdSize / 46 else { throw ZipError.truncated(file: file, what: "central directory") }
        return (count, cdSize, cdOffset)
    }

    public func entry(named name: String) -> ZipEntry? { byName[name].map { entries[$0] } }

    /// The bytes of a stored entry (a slice of the archive bytes, not a copy).
    public func contents(of name: String) throws -> Data {
        guard let e = entry(named: name) else { throw ZipError.missingEntry(file: file, entry: name) }
        return try contents(of: e)
    }

    public func contents(of e: ZipEntry) throws -> Data {
        if e.flags & 1 != 0 { throw ZipError.encryptedEntry(file: file, entry: e.name) }
        guard e.method == 0 else { throw ZipError.compressedEntry(file: file, entry: e.name, method: e.method) }
        guard e.compressedSize == e.uncompressedSize else { throw ZipError.entryOutOfBounds(file: file, entry: e.name) }
        let r = ByteReader(data: data)
        let o = e.localHeaderOffset
        guard o <= data.count - 30 else { throw ZipError.entryOutOfBounds(file: file, entry: e.name) }
        guard r.u32(o) == 0x0403_4b50 else { throw ZipError.badSignature(file: file, what: "local header of \(e.name)", offset: o) }
        let localMethod = Int(r.u16(o + 8))
        guard localMethod == 0 else { throw ZipError.compressedEntry(file: file, entry: e.name, method: localMethod) }
        let start = o + 30 + Int(r.u16(o + 26)) + Int(r.u16(o + 28))
        guard start <= data.count, e.compressedSize <= data.count - start else {
            throw ZipError.entryOutOfBounds(file: file, entry: e.name)
        }
        return data[(data.startIndex + start)..<(data.startIndex + start + e.compressedSize)]
    }
}

/// Little-endian unaligned reads at absolute offsets (callers bounds-check first; reads past the
/// end return 0 bytes so a signature test on a short file simply fails).
struct ByteReader {
    let data: Data
    func u8(_ o: Int) -> UInt8 { o >= 0 && o < data.count ? data[data.startIndex + o] : 0 }
    func u16(_ o: Int) -> UInt16 { UInt16(u8(o)) | UInt16(u8(o + 1)) << 8 }
    func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
    func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
}
