import Foundation
import Tensors

/// Images of one CIFAR-10 split, held compactly as bytes in the file's own layout.
///
/// pixels: [N,3,32,32] UInt8 row-major (CHW per image, exactly the record minus its label byte),
/// labels: [N] in 0...9. Float conversion happens per batch (`floatImages`, `batch`).
public struct CIFARImages: Sendable, Equatable {
    public static let channels = 3
    public static let height = 32
    public static let width = 32
    public static let pixelsPerImage = 3 * 32 * 32

    public let pixels: [UInt8]
    public let labels: [UInt8]

    public init(pixels: [UInt8], labels: [UInt8]) {
        precondition(pixels.count == labels.count * CIFARImages.pixelsPerImage,
                     "\(pixels.count) pixel bytes for \(labels.count) labels")
        self.pixels = pixels
        self.labels = labels
    }

    public var count: Int { labels.count }

    /// Label of image `i` as an Int.
    public func label(_ i: Int) -> Int { Int(labels[i]) }

    /// Pixel byte of image `i` at (channel c, row y, column x).
    public func pixel(_ i: Int, c: Int, y: Int, x: Int) -> UInt8 {
        pixels[i * CIFARImages.pixelsPerImage + c * 1024 + y * 32 + x]
    }

    /// Images per class, `classCount` entries.
    public func classCounts(classCount: Int = 10) -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for l in labels where Int(l) < classCount { counts[Int(l)] += 1 }
        return counts
    }

    /// The images at `indices` concatenated (labels and pixels), in that order.
    public func subset(_ indices: [Int]) -> CIFARImages {
        var p = [UInt8](repeating: 0, count: indices.count * CIFARImages.pixelsPerImage)
        let n = CIFARImages.pixelsPerImage
        pixels.withUnsafeBufferPointer { src in
            p.withUnsafeMutableBufferPointer { dst in
                for (r, i) in indices.enumerated() {
                    (dst.baseAddress! + r * n).update(from: src.baseAddress! + i * n, count: n)
                }
            }
        }
        return CIFARImages(pixels: p, labels: indices.map { labels[$0] })
    }

    /// Concatenation of several sets (e.g. the five training files).
    public static func concatenated(_ parts: [CIFARImages]) -> CIFARImages {
        CIFARImages(pixels: parts.flatMap { $0.pixels }, labels: parts.flatMap { $0.labels })
    }
}

/// The CIFAR-10 binary version (`cifar-10-batches-bin/`), read whole into memory as bytes.
///
/// Layout (formats.md §1.1): each file is a sequence of 3,073-byte records, one label byte (0...9)
/// then 3,072 pixel bytes, red plane, green plane, blue plane, each 32×32 row-major; pixel
/// (c,y,x) sits at record offset 1 + c·1024 + y·32 + x. The real files hold 10,000 records each
/// (30,730,000 bytes). Generated stand-in files may hold fewer: `SizeCheck.anyRecordCount`
/// (the default) accepts any positive multiple of 3,073 and `recordCounts` reports what was read;
/// `SizeCheck.exact` insists on the real 30,730,000 bytes per file.
public struct CIFAR10: Sendable {
    public static let recordSize = 3_073
    public static let recordsPerFile = 10_000
    public static let fileSize = 30_730_000
    public static let trainFileNames = (1...5).map { "data_batch_\($0).bin" }
    public static let testFileName = "test_batch.bin"
    public static let metaFileName = "batches.meta.txt"
    public static let directoryName = "cifar-10-batches-bin"
    /// Every file a directory must hold, in reading order.
    public static var allFileNames: [String] { trainFileNames + [testFileName, metaFileName] }
    /// The canonical class names (label i -> name i), as in `batches.meta.txt`.
    public static let canonicalClassNames = ["airplane", "automobile", "bird", "cat", "deer",
                                             "dog", "frog", "horse", "ship", "truck"]

    /// How file sizes are validated.
    public enum SizeCheck: Sendable {
        /// Every data file is exactly 30,730,000 bytes (the published data set).
        case exact
        /// Every data file is a positive multiple of 3,073 bytes (generated or cut-down data).
        case anyRecordCount
    }

    /// The directory the files were read from.
    public let directory: URL
    /// The five training files concatenated in order (50,000 images for the real data).
    public let train: CIFARImages
    /// `test_batch.bin` (10,000 images for the real data).
    public let test: CIFARImages
    /// Class names from `batches.meta.txt`, label order.
    public let classNames: [String]
    /// Records per file in `trainFileNames + [testFileName]` order.
    public let recordCounts: [Int]

    /// `url` itself if it holds `data_batch_1.bin`, else `url/cifar-10-batches-bin` if that does.
    public static func resolveDirectory(_ url: URL) -> URL {
        let fm = FileManager.default
        if fm.fileExists(atPath: url.appendingPathComponent(trainFileNames[0]).path) { return url }
        let nested = url.appendingPathComponent(directoryName)
        if fm.fileExists(atPath: nested.appendingPathComponent(trainFileNames[0]).path) { return nested }
        return url
    }

    /// Reads the whole data set. Validates up front that every file exists and has an allowed
    /// size, then reads the records and checks every label.
    public static func load(from url: URL, sizeCheck: SizeCheck = .anyRecordCount) throws -> CIFAR10 {
        let dir = resolveDirectory(url)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw CIFARError.directoryNotFound(path: dir.path)
        }
        let dataNames = trainFileNames + [testFileName]
        let missing = allFileNames.filter {
            !FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path)
        }
        if missing == [metaFileName] {
            throw CIFARError.missingMetaFile(path: dir.appendingPathComponent(metaFileName).path)
        }
        if !missing.isEmpty { throw CIFARError.missingFiles(directory: dir.path, files: missing) }
        var counts: [Int] = []
        for name in dataNames {
            counts.append(try recordCount(of: dir.appendingPathComponent(name), sizeCheck: sizeCheck))
        }
        let classNames = try readClassNames(dir.appendingPathComponent(metaFileName))
        var parts: [CIFARImages] = []
        for name in dataNames {
            parts.append(try readFile(dir.appendingPathComponent(name), sizeCheck: sizeCheck))
        }
        let test = parts.removeLast()
        return CIFAR10(directory: dir, train: CIFARImages.concatenated(parts), test: test,
                       classNames: classNames, recordCounts: counts)
    }

    /// Number of records in a data file, after checking its size.
    public static func recordCount(of file: URL, sizeCheck: SizeCheck) throws -> Int {
        // stat follows symbolic links: a linked file is measured, not the link.
        let size: Int
        switch FileKind.regularFileSize(atPath: file.path) {
        case .success(let s): size = s
        case .failure(let p): throw CIFARError.io(path: file.path, reason: p.reason)
        }
        switch sizeCheck {
        case .exact:
            guard size == fileSize else {
                throw CIFARError.badFileSize(path: file.path, size: size,
                                             expected: "exactly 30,730,000 (10,000 records)")
            }
        case .anyRecordCount:
            guard size > 0, size % recordSize == 0 else {
                throw CIFARError.badFileSize(path: file.path, size: size,
                                             expected: "a positive multiple of 3,073")
            }
        }
        return size / recordSize
    }

    /// Reads one data file (`data_batch_k.bin` or `test_batch.bin`).
    public static func readFile(_ file: URL, sizeCheck: SizeCheck = .anyRecordCount) throws -> CIFARImages {
        let n = try recordCount(of: file, sizeCheck: sizeCheck)
        let bytes: Data
        do { bytes = try Data(contentsOf: file, options: .mappedIfSafe) } catch {
            throw CIFARError.io(path: file.path, reason: "\(error.localizedDescription)")
        }
        guard bytes.count == n * recordSize else {
            throw CIFARError.badFileSize(path: file.path, size: bytes.count, expected: "\(n * recordSize) (changed while reading)")
        }
        return try parseRecords(bytes, path: file.path, sizeCheck: sizeCheck)
    }

    /// The records of one data file's bytes; `path` names them in errors. Checks the size as
    /// `recordCount(of:sizeCheck:)` does and every label.
    public static func parseRecords(_ bytes: Data, path: String, sizeCheck: SizeCheck = .anyRecordCount) throws -> CIFARImages {
        let size = bytes.count
        switch sizeCheck {
        case .exact:
            guard size == fileSize else { throw CIFARError.badFileSize(path: path, size: size, expected: "exactly 30,730,000 (10,000 records)") }
        case .anyRecordCount:
            guard size > 0, size % recordSize == 0 else { throw CIFARError.badFileSize(path: path, size: size, expected: "a positive multiple of 3,073") }
        }
        let n = size / recordSize
        let ppi = CIFARImages.pixelsPerImage
        var labels = [UInt8](repeating: 0, count: n)
        var pixels = [UInt8](repeating: 0, count: n * ppi)
        var badRecord: (Int, UInt8)? = nil
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let src = raw.bindMemory(to: UInt8.self).baseAddress!
            pixels.withUnsafeMutableBufferPointer { dst in
                for r in 0..<n {
                    let rec = src + r * recordSize
                    labels[r] = rec[0]
                    if rec[0] > 9 && badRecord == nil { badRecord = (r, rec[0]) }
                    (dst.baseAddress! + r * ppi).update(from: rec + 1, count: ppi)
                }
            }
        }
        if let (r, l) = badRecord { throw CIFARError.labelOutOfRange(path: path, record: r, label: l) }
        return CIFARImages(pixels: pixels, labels: labels)
    }

    /// Class names from `batches.meta.txt`: one per line, blank/whitespace-only lines ignored,
    /// surrounding whitespace trimmed; exactly ten required.
    public static func readClassNames(_ file: URL) throws -> [String] {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw CIFARError.missingMetaFile(path: file.path)
        }
        if let problem = FileKind.problem(atPath: file.path) { throw CIFARError.io(path: file.path, reason: problem) }
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw CIFARError.io(path: file.path, reason: "\(error.localizedDescription)")
        }
        return try parseClassNames(data, path: file.path)
    }

    /// Class names from the bytes of a `batches.meta.txt`; `path` names them in errors.
    public static func parseClassNames(_ data: Data, path: String) throws -> [String] {
        guard let text = String(validating: data, as: UTF8.self) else {
            throw CIFARError.io(path: path, reason: "not UTF-8 text")
        }
        let names = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard names.count == 10 else { throw CIFARError.badClassNames(path: path, found: names) }
        return names
    }

    /// Writes images in the binary record format (used by the generator and by tests).
    public static func writeFile(_ images: CIFARImages, to file: URL) throws {
        let ppi = CIFARImages.pixelsPerImage
        var out = Data(count: images.count * recordSize)
        out.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            let dst = raw.bindMemory(to: UInt8.self).baseAddress!
            images.pixels.withUnsafeBufferPointer { src in
                for r in 0..<images.count {
                    dst[r * recordSize] = images.labels[r]
                    (dst + r * recordSize + 1).update(from: src.baseAddress! + r * ppi, count: ppi)
                }
            }
        }
        do { try out.write(to: file) } catch {
            throw CIFARError.io(path: file.path, reason: "\(error.localizedDescription)")
        }
    }
}
