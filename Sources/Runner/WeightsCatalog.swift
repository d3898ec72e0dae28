import Foundation
import Specs

/// Where the paper's pretrained weight files are published, so a missing file is reported with
/// what to download and where to put it. Nothing is downloaded.
enum WeightsCatalog {
    /// torchvision file name -> URL (the 8 hex digits are the file's SHA-256 prefix).
    static let torchvision: [String: String] = [
        "resnet18-f37072fd.pth": "https://download.pytorch.org/models/resnet18-f37072fd.pth",
        "resnet34-b627a593.pth": "https://download.pytorch.org/models/resnet34-b627a593.pth",
        "resnet50-0676ba61.pth": "https://download.pytorch.org/models/resnet50-0676ba61.pth",
        "resnet50-11ad3fa6.pth": "https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
        "resnet101-63fe2227.pth": "https://download.pytorch.org/models/resnet101-63fe2227.pth",
        "resnet152-394f9c45.pth": "https://download.pytorch.org/models/resnet152-394f9c45.pth",
        "resnet152-f82ba261.pth": "https://download.pytorch.org/models/resnet152-f82ba261.pth",
    ]

    static let huggingFace: [String: String] = [
        "bert-base": "https://huggingface.co/google-bert/bert-base-uncased (files config.json, vocab.txt, model.safetensors)",
        "bert-large": "https://huggingface.co/google-bert/bert-large-uncased (files config.json, vocab.txt, model.safetensors)",
        "distilbert": "https://huggingface.co/distilbert/distilbert-base-uncased (files config.json, vocab.txt, model.safetensors)",
    ]

    /// Where to get `path` for `arch`, for messages.
    static func hint(for path: String, arch: ArchName) -> String {
        let name = (path as NSString).lastPathComponent
        if let url = torchvision[name] {
            let prefix = name.split(separator: "-").last.map { String($0.prefix(8)) } ?? ""
            return "download \(url) (SHA-256 starts with \(prefix)) and put it there"
        }
        if name.hasPrefix("pretrain-"), name.hasSuffix(".safetensors") {
            // the demo's pretrained MainNets (`sidenet pretrain` writes <spec name>.safetensors)
            let spec = (name.dropFirst("pretrain-".count).dropLast(".safetensors".count))
            return "generate it with `sidenet pretrain experiments/pretrain/\(spec).yaml` (./reproduce.sh does)"
        }
        if let hf = huggingFace[arch.rawValue] { return "download it from \(hf) and put it there" }
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
