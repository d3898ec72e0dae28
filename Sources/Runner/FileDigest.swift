import Foundation

/// Content digests of data and weight files (feature-cache keys). FNV-1a 64 over the bytes,
/// memoised per (path, size, modification date) for the life of the process.
enum FileDigest {
    nonisolated(unsafe) private static var memo: [String: String] = [:]
    private static let lock = NSLock()

    static func digest(_ urls: [URL]) throws -> String {
        try urls.map { try digest($0) }.joined(separator: ",")
    }

    static func digest(_ url: URL) throws -> String {
        let attrs = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attrs[.size] as? NSNumber)?.intValue ?? -1
        let date = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = "\(url.path)|\(size)|\(date)"
        lock.lock()
        if let d = memo[key] { lock.unlock(); return d }
        lock.unlock()
        // read in chunks: a mapped 1.2 GB weight file would count its touched pages in the peak RSS
        let input = try FileHandle(forReadingFrom: url)
        defer { try? input.close() }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        while let chunk = try input.read(upToCount: 4 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { raw in
                for b in raw.bindMemory(to: UInt8.self) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            }
        }
        let d = String(format: "%016llx:%d", h, size)
        lock.lock(); memo[key] = d; lock.unlock()
        return d
    }

    /// FNV-1a 64 of a string, as 16 hex digits.
    static func hash(_ s: String) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return String(format: "%016llx", h)
    }
}
