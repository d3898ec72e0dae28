import Foundation
import Tensors
import WeightIO

// Reading torchvision weights and the harness's own checkpoints (names: README.md, "Checkpoints").

/// Module state as safetensors-ready tensors: Float32, except `*.num_batches_tracked`, stored
/// as an I64 scalar like PyTorch does (so `torch.load`/`load_state_dict` accept the file).
public func storedStateDict(_ module: Module) -> [String: StoredTensor] {
    var out: [String: StoredTensor] = [:]
    for (k, t) in module.stateDict() {
        if isBatchCounter(k), let s = try? StoredTensor(int64s: t.data.map { Int64($0) }, shape: []), t.count == 1 {
            out[k] = s
        } else {
            out[k] = StoredTensor(t)
        }
    }
    return out
}

/// Writes `module`'s parameters and buffers to a safetensors file under their state-dict keys.
public func saveCheckpoint(_ module: Module, to url: URL, metadata: [String: String] = [:]) throws {
    try SafeTensors.write(storedStateDict(module), metadata: metadata, to: url)
}

/// Reads a harness checkpoint (safetensors) strictly into `module`: every key of the module
/// must be present with its shape, and the file may hold nothing else.
@discardableResult
public func loadCheckpoint(_ module: Module, from url: URL) throws -> StateDictLoadReport {
    let file = try SafeTensorsFile(contentsOf: url)
    return try loadStateDict(into: module, stored: file.tensors, source: url.lastPathComponent)
}

extension ResNet {
    /// Loads a torchvision ResNet state_dict strictly by name. When this backbone has no `fc`,
    /// the file's `fc.*` tensors are skipped and listed in the report's `warning`.
    @discardableResult
    public func loadTorchvision(_ stored: [String: StoredTensor], source: String) throws -> StateDictLoadReport {
        try loadStateDict(into: self, stored: stored, source: source,
                          options: StateDictLoadOptions(ignoredPrefixes: fc == nil ? ["fc."] : []))
    }
}

extension SideNetModel {
    /// Loads a published weight file's tensors (torchvision / HF names, see the family's
    /// `WeightNaming`) into the backbone strictly; task-head keys (`fc.*`, `classifier.*`, ...) are
    /// skipped and listed in the report's `warning`. Head and SideNets are untouched.
    @discardableResult
    public func loadPretrained(_ stored: [String: StoredTensor], source: String) throws -> StateDictLoadReport {
        try weightNaming.load(stored, into: backbone, source: source)
    }

    /// As `loadPretrained(_:source:)` for tensors read on demand (`WeightFile.open`).
    @discardableResult
    public func loadPretrained(_ streamed: [String: StreamedTensor], source: String) throws -> StateDictLoadReport {
        try weightNaming.load(streamed, into: backbone, source: source)
    }

    /// Reads a published weight file (`.pth` or `.safetensors`, streamed) into the backbone (see above).
    @discardableResult
    public func loadPretrained(from url: URL) throws -> StateDictLoadReport {
        try loadPretrained(try WeightFile.open(url), source: url.lastPathComponent)
    }

    /// Saves the whole model (backbone, head, SideNets, BatchNorm statistics).
    public func saveCheckpoint(to url: URL, metadata: [String: String] = [:]) throws {
        try Models.saveCheckpoint(self, to: url, metadata: metadata)
    }

    /// Loads a checkpoint written by `saveCheckpoint` (or by the PyTorch fixture script) strictly.
    @discardableResult
    public func loadCheckpoint(from url: URL) throws -> StateDictLoadReport {
        try Models.loadCheckpoint(self, from: url)
    }
}

extension ResNet {
    /// Reads a torchvision weight file (`.pth` zip or legacy pickle, or `.safetensors`) and
    /// loads it strictly (see `loadTorchvision(_:source:)`).
    @discardableResult
    public func loadTorchvision(from url: URL) throws -> StateDictLoadReport {
        try loadTorchvision(try WeightFile.load(url), source: url.lastPathComponent)
    }
}
