import Foundation
import Models
import Specs

/// Says where a missing weight file comes from (each family declares its published files), so it
/// is reported with what to download and where to put it. Nothing is downloaded.
enum WeightsCatalog {
    /// Where to get `path` for `arch`, for messages.
    static func hint(for path: String, arch: ArchName) -> String {
        let name = (path as NSString).lastPathComponent
        let published = MainNetRegistry.families.map(\.publishedWeights)
        if let url = published.lazy.compactMap({ $0.files[name] }).first {
            let prefix = name.split(separator: "-").last.map { String($0.prefix(8)) } ?? ""
            return "download \(url) (SHA-256 starts with \(prefix)) and put it there"
        }
        if name.hasPrefix("pretrain-"), name.hasSuffix(".safetensors") {
            // the demo's pretrained MainNets (`sidenet pretrain` writes <spec name>.safetensors)
            let spec = (name.dropFirst("pretrain-".count).dropLast(".safetensors".count))
            return "generate it with `sidenet pretrain experiments/pretrain/\(spec).yaml` (./reproduce.sh does)"
        }
        if let hf = published.lazy.compactMap({ $0.folders[arch.rawValue] }).first { return "download it from \(hf) and put it there" }
        return "put the weight file there, or set `weights: null` for random initialisation"
    }

    /// The weight file's URL, or a `missingFile` error saying where to get it.
    static func require(_ path: String, arch: ArchName, baseDir: URL) throws -> URL {
        let url = resolve(path, baseDir)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw RunnerError.missingFile(path: url.path, what: "\(arch.rawValue) weights", hint: hint(for: path, arch: arch))
        }
        return url
    }
}
