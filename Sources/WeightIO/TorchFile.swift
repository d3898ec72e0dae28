import Foundation
import Tensors

// torch.save files (formats.md §4): the zip container (data.pkl + data/<key> records) and the
// legacy stream (five pickles, then int64 numel + raw bytes per storage). Tensors must be
// row-major contiguous views of their storage; nothing in the file is ever executed.

/// Problems in the content of a torch.save file; each names the file (and tensor or key).
public enum TorchFileError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case notATorchFile(file: String)
    case missingDataPickle(file: String)
    case ambiguousDataPickle(file: String, entries: [String])
    case bigEndian(file: String)
    case invalidPersistentID(file: String, offset: Int, reason: String)
    case storageSizeMismatch(file: String, storage: String, expectedBytes: Int, actualBytes: Int)
    case missingStorage(file: String, storage: String)
    case nonContiguous(file: String, tensor: String, size: [Int], stride: [Int])
    case tensorOutOfBounds(file: String, tensor: String, neededElements: Int, storageElements: Int)
    case notADictionary(file: String, path: String, found: String)
    case keyNotFound(file: String, key: String, available: [String])
    case nonStringKey(file: String, found: String)
    case nonTensorValue(file: String, key: String, found: String)
    case invalidLegacyHeader(file: String, reason: String)
    case legacyStorageData(file: String, storage: String, reason: String)
    case trailingBytes(file: String, extra: Int)
    case storageDTypeConflict(file: String, tensor: String, storage: String, tensorDType: DType, storageDType: DType)

    public var description: String {
        switch self {
        case let .unreadable(f, r): return "\(f): cannot read: \(r)"
        case let .notATorchFile(f): return "\(f): not a torch.save file (neither zip nor legacy pickle magic)"
        case let .missingDataPickle(f): return "\(f): zip archive has no <prefix>/data.pkl entry"
        case let .ambiguousDataPickle(f, e): return "\(f): zip archive has several data.pkl entries: \(e.joined(separator: ", "))"
        case let .bigEndian(f): return "\(f): byteorder record says big-endian; only little-endian files are supported"
        case let .invalidPersistentID(f, o, r): return "\(f): invalid storage reference at pickle offset \(o): \(r)"
        case let .storageSizeMismatch(f, s, e, a): return "\(f): storage \(s) should hold \(e) bytes, record has \(a)"
        case let .missingStorage(f, s): return "\(f): storage \(s) referenced by a tensor has no data record"
        case let .nonContiguous(f, t, sz, st): return "\(f): tensor \"\(t)\" is not contiguous (size \(sz), stride \(st)); save .contiguous() tensors"
        case let .tensorOutOfBounds(f, t, n, s): return "\(f): tensor \"\(t)\" needs storage elements up to \(n), storage has \(s)"
        case let .notADictionary(f, p, k): return "\(f): \(p.isEmpty ? "top-level object" : "value at \"\(p)\"") is a \(k), expected a dict of tensors"
        case let .keyNotFound(f, k, a): return "\(f): key \"\(k)\" not found (keys: \(a.prefix(12).joined(separator: ", "))\(a.count > 12 ? ", …" : ""))"
        case let .nonStringKey(f, k): return "\(f): dict key of type \(k), expected str"
        case let .nonTensorValue(f, k, v): return "\(f): \"\(k)\" is a \(v), not a tensor (pass key: to select a nested state_dict)"
        case let .invalidLegacyHeader(f, r): return "\(f): legacy torch file: \(r)"
        case let .legacyStorageData(f, s, r): return "\(f): legacy storage \(s): \(r)"
        case let .trailingBytes(f, x): return "\(f): \(x) unexpected bytes after the last storage"
        case let .storageDTypeConflict(f, t, s, td, sd):
            return "\(f): tensor \"\(t)\" reads storage \(s) as \(td.rawValue), but the storage was declared \(sd.rawValue)"
        }
    }
}

/// Loads `torch.save` state_dicts (zip or legacy format) without executing anything.
public enum TorchFile {
    /// Tensors of the state_dict in `url`. `key` selects a nested dict, as a path of keys separated
    /// by "/" (e.g. "state_dict" or "model"); with nil, the top-level dict is used, or, if it holds
    /// no tensors, its "state_dict" or "model" entry.
    public static func load(_ url: URL, key: String? = nil) throws -> [String: StoredTensor] {
        let data = try readFile(url)
        return try load(data: data, file: url.path, key: key)
    }

    /// As `load(_:key:)` for in-memory bytes; `file` names them in errors.
    public static func load(data: Data, file: String, key: String? = nil) throws -> [String: StoredTensor] {
        switch WeightFile.detect(data) {
        case .torchZip: return try loadZip(data, file: file, key: key)
        case .torchLegacy: return try loadLegacy(data, file: file, key: key)
        default: throw TorchFileError.notATorchFile(file: file)
        }
    }

    static func readFile(_ url: URL) throws -> Data {
        if let problem = FileKind.problem(atPath: url.path) { throw TorchFileError.unreadable(file: url.path, reason: problem) }
        do { return try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw TorchFileError.unreadable(file: url.path, reason: error.localizedDescription)
        }
    }

    // MARK: zip

    static func loadZip(_ data: Data, file: String, key: String?) throws -> [String: StoredTensor] {
        let zip = try ZipArchive(data: data, file: file)
        let pkls = zip.entries.map(\.name).filter { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }
        guard !pkls.isEmpty else { throw TorchFileError.missingDataPickle(file: file) }
        // PyTorch takes the prefix from the first entry; prefer that data.pkl if several exist.
        let firstDir = zip.entries.first.map { $0.name.split(separator: "/", maxSplits: 1).first.map(String.init) ?? "" } ?? ""
        let chosen: String
        if pkls.count == 1 { chosen = pkls[0] } else if let p = pkls.first(where: { $0 == firstDir + "/data.pkl" }) { chosen = p } else {
            throw TorchFileError.ambiguousDataPickle(file: file, entries: pkls)
        }
        let prefix = String(chosen.dropLast("data.pkl".count))
        if let bo = zip.entry(named: prefix + "byteorder") {
            let text = String(decoding: try zip.contents(of: bo), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text == "big" { throw TorchFileError.bigEndian(file: file) }
        }
        let pickle = try zip.contents(of: chosen)
        let (root, _) = try PickleMachine.run(pickle, file: file + ":" + chosen) { pid, at in
            try storageRef(pid, at: at, file: file, legacy: false)
        }
        let refs = try selectStateDict(root, key: key, file: file)
        var storages: [String: Data] = [:]
        var out: [String: StoredTensor] = [:]
        for (name, t) in refs {
            let entryName = prefix + "data/" + t.storage.key
            let bytes: Data
            if let b = storages[t.storage.key] { bytes = b } else {
                guard zip.entry(named: entryName) != nil else { throw TorchFileError.missingStorage(file: file, storage: entryName) }
                bytes = try zip.contents(of: entryName)
                storages[t.storage.key] = bytes
            }
            let (expected, o) = t.storage.numel.multipliedReportingOverflow(by: t.storage.dtype.size)
            guard !o, expected == bytes.count else {
                throw TorchFileError.storageSizeMismatch(file: file, storage: entryName, expectedBytes: o ? Int.max : expected, actualBytes: bytes.count)
            }
            out[name] = try materialize(t, storage: bytes, storageElements: t.storage.numel, name: name, file: file)
        }
        return out
    }

    // MARK: legacy stream

    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    static func loadLegacy(_ data: Data, file: String, key: String?) throws -> [String: StoredTensor] {
        guard data.count >= legacyMagic.count, [UInt8](data.prefix(legacyMagic.count)) == legacyMagic else {
            throw TorchFileError.invalidLegacyHeader(file: file, reason: "missing magic number")
        }
        var pos = legacyMagic.count
        let (proto, p1) = try PickleMachine.run(data, from: pos, file: file)
        guard case .int(1001) = proto else { throw TorchFileError.invalidLegacyHeader(file: file, reason: "protocol version is \(proto.kind), expected 1001") }
        pos = p1
        let (sysInfo, p2) = try PickleMachine.run(data, from: pos, file: file)
        pos = p2
        guard case let .dict(info) = sysInfo else { throw TorchFileError.invalidLegacyHeader(file: file, reason: "sys_info is a \(sysInfo.kind), expected a dict") }
        for (k, v) in info.items {
            if case .string("little_endian") = k, case let .bool(little) = v, !little { throw TorchFileError.bigEndian(file: file) }
        }
        var seen: [String: StorageRef] = [:]
        let (root, p3) = try PickleMachine.run(data, from: pos, file: file) { pid, at in
            let v = try storageRef(pid, at: at, file: file, legacy: true)
            if case let .storage(s) = v, seen[s.key] == nil { seen[s.key] = s }
            return v
        }
        pos = p3
        let (keyList, p4) = try PickleMachine.run(data, from: pos, file: file)
        pos = p4
        guard case let .list(keys) = keyList else { throw TorchFileError.invalidLegacyHeader(file: file, reason: "storage key list is a \(keyList.kind)") }

        // Raw storages follow in key-list order: int64 LE numel, then numel * element size bytes.
        let base = data.startIndex
        var storages: [String: (bytes: Data, numel: Int, dtype: DType)] = [:]
        for k in keys.items {
            guard case let .string(key) = k else { throw TorchFileError.invalidLegacyHeader(file: file, reason: "storage key is a \(k.kind)") }
            guard let ref = seen[key] else { throw TorchFileError.legacyStorageData(file: file, storage: key, reason: "listed but never referenced (unknown element size)") }
            guard data.count - pos >= 8 else { throw TorchFileError.legacyStorageData(file: file, storage: key, reason: "truncated before its size") }
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(data[base + pos + i]) << (8 * UInt64(i)) }
            pos += 8
            let numel = Int64(bitPattern: n)
            let (bytes, o) = Int(clamping: numel).multipliedReportingOverflow(by: ref.dtype.size)
            guard numel >= 0, !o, bytes <= data.count - pos else {
                throw TorchFileError.legacyStorageData(file: file, storage: key, reason: "\(numel) elements extend beyond the end of the file")
            }
            storages[key] = (data[(base + pos)..<(base + pos + bytes)], Int(numel), ref.dtype)
            pos += bytes
        }
        if pos != data.count { throw TorchFileError.trailingBytes(file: file, extra: data.count - pos) }

        let refs = try selectStateDict(root, key: key, file: file)
        var out: [String: StoredTensor] = [:]
        for (name, t) in refs {
            guard let s = storages[t.storage.key] else { throw TorchFileError.missingStorage(file: file, storage: t.storage.key) }
            // The raw bytes were sized with the dtype first seen for this key: one storage, one dtype.
            guard s.dtype == t.storage.dtype else {
                throw TorchFileError.storageDTypeConflict(file: file, tensor: name, storage: t.storage.key,
                                                          tensorDType: t.storage.dtype, storageDType: s.dtype)
            }
            var t = t
            var storage = s.bytes, count = s.numel
            if let view = t.storage.view {
                // Old storage views: a window of the root storage, offsets in elements.
                let es = t.storage.dtype.size
                guard view.offset <= count, view.size <= count - view.offset else {
                    throw TorchFileError.tensorOutOfBounds(file: file, tensor: name, neededElements: view.offset + view.size, storageElements: count)
                }
                storage = storage[(storage.startIndex + view.offset * es)..<(storage.startIndex + (view.offset + view.size) * es)]
                count = view.size
                t.storage.view = nil
            }
            out[name] = try materialize(t, storage: storage, storageElements: count, name: name, file: file)
        }
        return out
    }

    // MARK: shared pieces

    /// ('storage', torch.XStorage, key, location, numel) — legacy adds view_metadata (None or (key, offset, size)).
    static func storageRef(_ pid: PickleValue, at: Int, file: String, legacy: Bool) throws -> PickleValue {
        func bad(_ r: String) -> TorchFileError { .invalidPersistentID(file: file, offset: at, reason: r) }
        guard case let .tuple(t) = pid, t.count == (legacy ? 6 : 5) else { throw bad("expected a \(legacy ? 6 : 5)-tuple, found \(pid.kind)") }
        guard case .string("storage") = t[0] else { throw bad("first item is not 'storage'") }
        guard case let .global(cls) = t[1], cls.hasPrefix("torch."), let dtype = DType(torchStorageName: String(cls.dropFirst(6))) else {
            throw bad("storage class \(t[1].kind) is not a torch storage type")
        }
        guard case let .string(key) = t[2] else { throw bad("storage key is a \(t[2].kind)") }
        guard case let .string(location) = t[3] else { throw bad("location is a \(t[3].kind)") }
        guard case let .int(numel) = t[4], numel >= 0 else { throw bad("numel is not a non-negative int") }
        var view: (String, Int, Int)?
        if legacy, case let .tuple(v) = t[5] {
            guard v.count == 3, case let .string(vk) = v[0], case let .int(off) = v[1], case let .int(size) = v[2], off >= 0, size >= 0 else {
                throw bad("view metadata is not (key, offset, size)")
            }
            view = (vk, Int(off), Int(size))
        } else if legacy, case .none = t[5] {} else if legacy { throw bad("view metadata is a \(t[5].kind)") }
        return .storage(StorageRef(key: key, dtype: dtype, location: location, numel: Int(numel), view: view))
    }

    /// Walks the key path (or the default choice) to the dict of tensors.
    static func selectStateDict(_ root: PickleValue, key: String?, file: String) throws -> [(String, TensorRef)] {
        func entries(_ v: PickleValue, _ path: String) throws -> [(String, PickleValue)] {
            guard case let .dict(d) = v else { throw TorchFileError.notADictionary(file: file, path: path, found: v.kind) }
            return try d.items.map { k, v in
                guard case let .string(s) = k else { throw TorchFileError.nonStringKey(file: file, found: k.kind) }
                return (s, v)
            }
        }
        var current = root
        var path = ""
        if let key, !key.isEmpty {
            for part in key.split(separator: "/").map(String.init) {
                let items = try entries(current, path)
                guard let next = items.first(where: { $0.0 == part }) else {
                    throw TorchFileError.keyNotFound(file: file, key: part, available: items.map(\.0))
                }
                path = path.isEmpty ? part : path + "/" + part
                current = next.1
            }
        } else {
            let items = try entries(current, path)
            let hasTensor = items.contains { if case .tensor = $0.1 { return true }; return false }
            if !hasTensor, let wrapped = items.first(where: { $0.0 == "state_dict" }) ?? items.first(where: { $0.0 == "model" }),
               case .dict = wrapped.1 {
                path = wrapped.0
                current = wrapped.1
            }
        }
        return try entries(current, path).map { name, v in
            guard case let .tensor(t) = v else { throw TorchFileError.nonTensorValue(file: file, key: name, found: v.kind) }
            return (name, t)
        }
    }

    /// Checks a tensor is a row-major contiguous, in-bounds view and slices its bytes.
    static func materialize(_ t: TensorRef, storage: Data, storageElements: Int, name: String, file: String) throws -> StoredTensor {
        guard let count = checkedElementCount(t.size) else {
            throw TorchFileError.tensorOutOfBounds(file: file, tensor: name, neededElements: Int.max, storageElements: storageElements)
        }
        if count > 0 {
            var expected = 1
            for j in stride(from: t.size.count - 1, through: 0, by: -1) {
                if t.size[j] != 1 && t.stride[j] != expected {
                    throw TorchFileError.nonContiguous(file: file, tensor: name, size: t.size, stride: t.stride)
                }
                expected *= t.size[j] // no overflow: bounded by count
            }
        }
        let (end, o) = t.offset.addingReportingOverflow(count)
        guard !o, end <= storageElements else {
            throw TorchFileError.tensorOutOfBounds(file: file, tensor: name, neededElements: o ? Int.max : end, storageElements: storageElements)
        }
        let es = t.storage.dtype.size
        let start = storage.startIndex + t.offset * es
        return try StoredTensor(dtype: t.storage.dtype, shape: t.size, bytes: storage[start..<(start + count * es)])
    }
}

/// Errors of format detection.
public enum WeightFileError: Error, CustomStringConvertible, Equatable {
    case tarFormat(file: String)
    case unknownFormat(file: String, firstBytes: String)

    public var description: String {
        switch self {
        case let .tarFormat(f): return "\(f): very old tar-based torch.save format (pre-0.4) is not supported; re-save it with a recent PyTorch"
        case let .unknownFormat(f, b): return "\(f): unknown weight file format (first bytes \(b)); expected safetensors, torch zip or legacy torch"
        }
    }
}

/// Loads any supported weight file, chosen by content (not by extension).
public enum WeightFile {
    public enum Format: String, Equatable { case safetensors, torchZip, torchLegacy, torchTar, unknown }

    /// Format from the leading bytes.
    public static func detect(_ data: Data) -> Format {
        let b = [UInt8](data.prefix(16))
        if b.count >= 4, b[0] == 0x50, b[1] == 0x4B, (b[2], b[3]) == (3, 4) || (b[2], b[3]) == (5, 6) { return .torchZip }
        if b.count >= 14, Array(b[0..<14]) == Array(TorchFile.legacyMagic[0..<14]) { return .torchLegacy }
        if data.count >= 262, [UInt8](data[(data.startIndex + 257)..<(data.startIndex + 262)]) == Array("ustar".utf8) { return .torchTar }
        // A JSON object right after the 8-byte length: safetensors, even when the length is wrong
        // (the safetensors reader then names the problem).
        if b.count >= 9, b[8] == UInt8(ascii: "{") { return .safetensors }
        return .unknown
    }

    /// Every tensor of a safetensors, torch zip or legacy torch file. `key` selects a nested
    /// state_dict in torch files (see `TorchFile.load`); it is ignored for safetensors.
    public static func load(_ url: URL, key: String? = nil) throws -> [String: StoredTensor] {
        let data = try TorchFile.readFile(url)
        switch detect(data) {
        case .safetensors: return try SafeTensorsFile(data: data, source: url.path).tensors
        case .torchZip, .torchLegacy: return try TorchFile.load(data: data, file: url.path, key: key)
        case .torchTar: throw WeightFileError.tarFormat(file: url.path)
        case .unknown:
            throw WeightFileError.unknownFormat(file: url.path, firstBytes: data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " "))
        }
    }
}
