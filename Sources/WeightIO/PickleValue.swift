import Foundation

// The values and errors of the restricted pickle machine (`Pickle.swift`), the globals a
// weights file may name, and the reader's public entry point.

/// Pickle stream problems; each names the file and the byte offset of the opcode.
public enum PickleError: Error, CustomStringConvertible, Equatable {
    case unknownOpcode(file: String, opcode: UInt8, offset: Int)
    case forbiddenGlobal(file: String, name: String, offset: Int)
    case truncated(file: String, offset: Int)
    case stackUnderflow(file: String, opcode: String, offset: Int)
    case missingMemo(file: String, index: Int, offset: Int)
    case invalid(file: String, offset: Int, reason: String)
    case unsupportedProtocol(file: String, version: Int)

    public var description: String {
        switch self {
        case let .unknownOpcode(f, op, o):
            return "\(f): pickle opcode 0x\(String(op, radix: 16, uppercase: true)) at offset \(o) is not supported"
        case let .forbiddenGlobal(f, n, o): return "\(f): pickle global \(n) at offset \(o) is not allowed (only tensor state_dict globals are)"
        case let .truncated(f, o): return "\(f): pickle truncated at offset \(o)"
        case let .stackUnderflow(f, op, o): return "\(f): pickle \(op) at offset \(o) finds too few values on the stack"
        case let .missingMemo(f, i, o): return "\(f): pickle memo entry \(i) read at offset \(o) was never stored"
        case let .invalid(f, o, r): return "\(f): pickle at offset \(o): \(r)"
        case let .unsupportedProtocol(f, v): return "\(f): pickle protocol \(v) is not supported (expected 2...5)"
        }
    }
}

/// A storage reference from a persistent id ('storage', torch.XStorage, key, location, numel[, view]).
struct StorageRef: Equatable {
    var key: String
    var dtype: DType
    var location: String
    var numel: Int
    /// Legacy storage views: (view key, offset, size) in elements of the root storage.
    var view: (key: String, offset: Int, size: Int)?

    static func == (a: StorageRef, b: StorageRef) -> Bool {
        a.key == b.key && a.dtype == b.dtype && a.numel == b.numel && a.view?.key == b.view?.key
            && a.view?.offset == b.view?.offset && a.view?.size == b.view?.size
    }
}

/// A tensor reference from _rebuild_tensor_v2: element offset, sizes and strides in elements.
struct TensorRef: Equatable {
    var storage: StorageRef
    var offset: Int
    var size: [Int]
    var stride: [Int]
}

/// Lists and dicts are mutable while the machine fills them. `depth` is their nesting depth so far;
/// once one is nested in another value it is `sealed` (a pickler never fills a container after
/// nesting it), so the depth recorded by its parent stays an upper bound.
final class PickleList { var items: [PickleValue] = []; var depth = 1; var sealed = false }
final class PickleDict {
    var items: [(PickleValue, PickleValue)] = []
    var depth = 1
    var sealed = false
    /// Position in `items` of each string key (state dicts have thousands: a linear search per
    /// insert made SETITEMS quadratic).
    var stringKeys: [String: Int] = [:]
}

/// Deepest nesting of tuples, lists and dicts a file may build. State dicts need fewer than ten
/// levels; the limit keeps the recursive release of values far from the end of any thread's stack.
let pickleMaxDepth = 100

/// Values built by the machine. Lists and dicts are references, as in Python (the memo shares them).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    /// Integers wider than 8 bytes: two's complement little-endian bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global, as "module.name".
    case global(String)
    case storage(StorageRef)
    case tensor(TensorRef)

    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return g
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// The globals a weights file may name. Storage classes map to dtypes via `DType(torchStorageName:)`.
let allowedGlobals: Set<String> = {
    var s: Set<String> = [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._tensor._rebuild_from_type_v2",
        "torch.nn.parameter.Parameter",  // only as the new_type marker of _rebuild_from_type_v2
        "torch.Tensor",
    ]
    for d in DType.allCases { if let n = d.torchStorageName { s.insert("torch." + n) } }
    return s
}()

/// The restricted pickle reader on its own (fuzzing, diagnostics).
public enum PickleReader {
    /// Runs one pickle stream (up to its STOP) and discards the value; storage references are
    /// refused. Throws `PickleError` for anything the reader does not accept.
    public static func check(_ data: Data, file: String) throws {
        _ = try PickleMachine.run(data, file: file)
    }
}
