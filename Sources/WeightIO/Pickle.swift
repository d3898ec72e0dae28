import Foundation

// "Just enough pickle" (formats.md §4.3): a stack machine over the opcode subset torch.save emits,
// with an allow-list of globals. Nothing is ever executed: REDUCE of an allowed global builds a
// plain description (empty dict, tensor reference); any other global is refused when it is named.

/// Runs one pickle (up to and including STOP) starting at `start` in `data`.
struct PickleMachine {
    /// A value and its nesting depth (0 for scalars, 1 + the deepest child for containers).
    struct Slot {
        var value: PickleValue
        var depth: Int
    }

    let data: Data
    let file: String
    /// Turns a persistent id into a value (torch storages).
    let persistentLoad: (PickleValue, Int) throws -> PickleValue

    private var pos = 0
    private var stack: [PickleValue] = []
    /// Nesting depth of each stack entry (same count as `stack`); lists and dicts read theirs live.
    private var depths: [Int] = []
    private var marks: [Int] = []
    private var memo: [Int: Slot] = [:]

    init(data: Data, file: String, persistentLoad: @escaping (PickleValue, Int) throws -> PickleValue) {
        self.data = data
        self.file = file
        self.persistentLoad = persistentLoad
    }

    /// Executes from byte `start` (relative to `data`); returns the result and the offset after STOP.
    static func run(_ data: Data, from start: Int = 0, file: String,
                    persistentLoad: @escaping (PickleValue, Int) throws -> PickleValue = { _, o in
                        throw PickleError.invalid(file: "", offset: o, reason: "unexpected persistent id") }) throws -> (PickleValue, Int) {
        var m = PickleMachine(data: data, file: file, persistentLoad: persistentLoad)
        m.pos = start
        let v = try m.execute()
        return (v, m.pos)
    }

    // MARK: reading arguments

    private mutating func byte(_ at: Int) throws -> UInt8 {
        guard pos < data.count else { throw PickleError.truncated(file: file, offset: at) }
        defer { pos += 1 }
        return data[data.startIndex + pos]
    }

    private mutating func take(_ n: Int, _ at: Int) throws -> [UInt8] {
        guard n >= 0, n <= data.count - pos else { throw PickleError.truncated(file: file, offset: at) }
        defer { pos += n }
        return [UInt8](data[(data.startIndex + pos)..<(data.startIndex + pos + n)])
    }

    private mutating func uint(_ n: Int, _ at: Int) throws -> UInt64 {
        let b = try take(n, at)
        var v: UInt64 = 0
        for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        return v
    }

    private mutating func line(_ at: Int) throws -> String {
        var out: [UInt8] = []
        while true {
            let c = try byte(at)
            if c == 0x0A { break }
            out.append(c)
            if out.count > 4096 { throw PickleError.invalid(file: file, offset: at, reason: "global name too long") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: stack helpers

    private mutating func push(_ v: PickleValue, depth: Int = 0) {
        stack.append(v)
        depths.append(depth)
    }

    private mutating func pop(_ op: String, _ at: Int) throws -> PickleValue {
        try popSlot(op, at).value
    }

    private mutating func popSlot(_ op: String, _ at: Int) throws -> Slot {
        guard stack.count > (marks.last ?? 0), let v = stack.popLast(), let d = depths.popLast() else {
            throw PickleError.stackUnderflow(file: file, opcode: op, offset: at)
        }
        return Slot(value: v, depth: d)
    }

    private mutating func popToMark(_ op: String, _ at: Int) throws -> [Slot] {
        guard let m = marks.popLast(), m <= stack.count else { throw PickleError.stackUnderflow(file: file, opcode: op, offset: at) }
        let items = zip(stack[m...], depths[m...]).map { Slot(value: $0, depth: $1) }
        stack.removeSubrange(m...)
        depths.removeSubrange(m...)
        return items
    }

    /// Seals `children` (they are being nested) and returns the depth of a container at `current`
    /// depth that holds them; deeper than `pickleMaxDepth` is an error. A container nested in
    /// itself is refused: with sealing, that is the only way a cycle (a leak) could form.
    private func nest(_ children: [Slot], into current: Int, container: AnyObject? = nil, _ at: Int) throws -> Int {
        var d = current
        for c in children {
            let cd: Int
            switch c.value {
            case .list(let l): l.sealed = true; cd = l.depth
            case .dict(let x): x.sealed = true; cd = x.depth
            default: cd = c.depth
            }
            if let container, case .list(let l) = c.value, l === container {
                throw PickleError.invalid(file: file, offset: at, reason: "a list contains itself (recursive structure)")
            }
            if let container, case .dict(let x) = c.value, x === container {
                throw PickleError.invalid(file: file, offset: at, reason: "a dict contains itself (recursive structure)")
            }
            d = max(d, cd + 1)
        }
        guard d <= pickleMaxDepth else {
            throw PickleError.invalid(file: file, offset: at, reason: "values nested deeper than \(pickleMaxDepth) levels")
        }
        return d
    }

    private func top(_ op: String, _ at: Int) throws -> PickleValue {
        try topSlot(op, at).value
    }

    private func topSlot(_ op: String, _ at: Int) throws -> Slot {
        guard let v = stack.last, let d = depths.last, stack.count > (marks.last ?? 0) else {
            throw PickleError.stackUnderflow(file: file, opcode: op, offset: at)
        }
        return Slot(value: v, depth: d)
    }

    private func checkGlobal(_ module: String, _ name: String, _ at: Int) throws -> PickleValue {
        let full = module + "." + name
        guard allowedGlobals.contains(full) else { throw PickleError.forbiddenGlobal(file: file, name: full, offset: at) }
        return .global(full)
    }

    private func setItems(_ target: PickleValue, _ slots: [Slot], _ op: String, _ at: Int) throws {
        guard case let .dict(d) = target else {
            throw PickleError.invalid(file: file, offset: at, reason: "\(op) on a \(target.kind), expected a dict")
        }
        guard slots.count % 2 == 0 else { throw PickleError.invalid(file: file, offset: at, reason: "\(op) with an odd number of items") }
        guard !d.sealed else { throw PickleError.invalid(file: file, offset: at, reason: "\(op) on a dict already nested in another value") }
        d.depth = try nest(slots, into: d.depth, container: d, at)
        let kv = slots.map(\.value)
        for i in stride(from: 0, to: kv.count, by: 2) {
            if case let .string(k) = kv[i] {
                if let j = d.stringKeys[k] {
                    d.items[j].1 = kv[i + 1] // Python dict semantics: a repeated key replaces the value
                } else {
                    d.stringKeys[k] = d.items.count
                    d.items.append((kv[i], kv[i + 1]))
                }
            } else {
                d.items.append((kv[i], kv[i + 1]))
            }
        }
    }

    // MARK: the machine

    private mutating func execute() throws -> PickleValue {
        while true {
            let at = pos
            let op = try byte(at)
            if op == UInt8(ascii: ".") { return try pop("STOP", at) }  // STOP
            guard try controlOp(op, at) || containerOp(op, at) || scalarOp(op, at) || objectOp(op, at) else {
                throw PickleError.unknownOpcode(file: file, opcode: op, offset: at)
            }
        }
    }

    /// Protocol, frames, globals, the memo and marks; false: not one of these opcodes.
    private mutating func controlOp(_ op: UInt8, _ at: Int) throws -> Bool {
        switch op {
        case 0x80: // PROTO
            let v = Int(try byte(at))
            guard v >= 2 && v <= 5 else { throw PickleError.unsupportedProtocol(file: file, version: v) }
        case 0x95: _ = try uint(8, at) // FRAME
        case UInt8(ascii: "c"): // GLOBAL
            let module = try line(at), name = try line(at)
            push(try checkGlobal(module, name, at))
        case 0x93: // STACK_GLOBAL
            let n = try pop("STACK_GLOBAL", at), m = try pop("STACK_GLOBAL", at)
            guard case let .string(name) = n, case let .string(module) = m else {
                throw PickleError.invalid(file: file, offset: at, reason: "STACK_GLOBAL needs two strings")
            }
            push(try checkGlobal(module, name, at))
        case UInt8(ascii: "q"): memo[Int(try byte(at))] = try topSlot("BINPUT", at)
        case UInt8(ascii: "r"): memo[Int(try uint(4, at))] = try topSlot("LONG_BINPUT", at)
        case 0x94: memo[memo.count] = try topSlot("MEMOIZE", at)
        case UInt8(ascii: "h"), UInt8(ascii: "j"):
            let i = op == UInt8(ascii: "h") ? Int(try byte(at)) : Int(try uint(4, at))
            guard let v = memo[i] else { throw PickleError.missingMemo(file: file, index: i, offset: at) }
            push(v.value, depth: v.depth)
        case UInt8(ascii: "("): marks.append(stack.count)
        default: return false
        }
        return true
    }

    /// Tuples, lists and dicts; false: not one of these opcodes.
    private mutating func containerOp(_ op: UInt8, _ at: Int) throws -> Bool {
        switch op {
        case UInt8(ascii: ")"): push(.tuple([]), depth: 1)
        case UInt8(ascii: "t"):
            let items = try popToMark("TUPLE", at)
            push(.tuple(items.map(\.value)), depth: try nest(items, into: 1, at))
        case 0x85, 0x86, 0x87: // TUPLE1/2/3
            let n = Int(op) - 0x84
            var items: [Slot] = []
            for _ in 0..<n { items.insert(try popSlot("TUPLE\(n)", at), at: 0) }
            push(.tuple(items.map(\.value)), depth: try nest(items, into: 1, at))
        case UInt8(ascii: "]"): push(.list(PickleList()))
        case UInt8(ascii: "a"), UInt8(ascii: "e"): // APPEND / APPENDS
            let items = op == UInt8(ascii: "a") ? [try popSlot("APPEND", at)] : try popToMark("APPENDS", at)
            guard case let .list(l) = try top("APPEND", at) else {
                throw PickleError.invalid(file: file, offset: at, reason: "APPEND to a non-list")
            }
            guard !l.sealed else { throw PickleError.invalid(file: file, offset: at, reason: "APPEND to a list already nested in another value") }
            l.depth = try nest(items, into: l.depth, container: l, at)
            l.items.append(contentsOf: items.map(\.value))
        case UInt8(ascii: "}"): push(.dict(PickleDict()))
        case UInt8(ascii: "s"): // SETITEM
            let v = try popSlot("SETITEM", at), k = try popSlot("SETITEM", at)
            try setItems(try top("SETITEM", at), [k, v], "SETITEM", at)
        case UInt8(ascii: "u"): // SETITEMS
            let kv = try popToMark("SETITEMS", at)
            try setItems(try top("SETITEMS", at), kv, "SETITEMS", at)
        case UInt8(ascii: "d"): // DICT
            let kv = try popToMark("DICT", at)
            let d = PickleValue.dict(PickleDict())
            try setItems(d, kv, "DICT", at)
            push(d)
        default: return false
        }
        return true
    }

    /// Strings, integers, floats, None and booleans; false: not one of these opcodes.
    private mutating func scalarOp(_ op: UInt8, _ at: Int) throws -> Bool {
        switch op {
        case UInt8(ascii: "X"), 0x8C: // BINUNICODE / SHORT_BINUNICODE
            let n = op == 0x8C ? Int(try byte(at)) : Int(try uint(4, at))
            let b = try take(n, at)
            guard let s = String(bytes: b, encoding: .utf8) else {
                throw PickleError.invalid(file: file, offset: at, reason: "string is not valid UTF-8")
            }
            push(.string(s))
        case UInt8(ascii: "U"), UInt8(ascii: "T"): // SHORT_BINSTRING / BINSTRING (Python 2 str, latin-1)
            let n = op == UInt8(ascii: "U") ? Int(try byte(at)) : Int(Int32(bitPattern: UInt32(try uint(4, at))))
            let raw = try take(n, at)
            push(.string(String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) }))))
        case UInt8(ascii: "K"): push(.int(Int64(try byte(at))))
        case UInt8(ascii: "M"): push(.int(Int64(try uint(2, at))))
        case UInt8(ascii: "J"): push(.int(Int64(Int32(bitPattern: UInt32(try uint(4, at))))))
        case 0x8A, 0x8B: // LONG1 / LONG4
            let n = op == 0x8A ? Int(try byte(at)) : Int(Int32(bitPattern: UInt32(try uint(4, at))))
            let b = try take(n, at)
            if n == 0 { push(.int(0)) } else if n <= 8 {
                var v: UInt64 = 0
                for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
                if n < 8 && b[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) } // sign-extend
                push(.int(Int64(bitPattern: v)))
            } else {
                push(.bigInt(b))
            }
        case UInt8(ascii: "G"): // BINFLOAT, big-endian
            let b = try take(8, at)
            push(.float(Double(bitPattern: b.reduce(0) { $0 << 8 | UInt64($1) })))
        case UInt8(ascii: "N"): push(.none)
        case 0x88: push(.bool(true))
        case 0x89: push(.bool(false))
        default: return false
        }
        return true
    }

    /// Persistent ids (storages), REDUCE / NEWOBJ of allowed globals, BUILD; false: not one of these opcodes.
    private mutating func objectOp(_ op: UInt8, _ at: Int) throws -> Bool {
        switch op {
        case UInt8(ascii: "Q"): // BINPERSID
            let pid = try pop("BINPERSID", at)
            push(try persistentLoad(pid, at))
        case UInt8(ascii: "R"): // REDUCE
            let args = try pop("REDUCE", at), fn = try pop("REDUCE", at)
            push(try reduce(fn, args, at))
        case 0x81: // NEWOBJ
            let args = try pop("NEWOBJ", at), cls = try pop("NEWOBJ", at)
            push(try reduce(cls, args, at))
        case UInt8(ascii: "b"): // BUILD: state of an OrderedDict (_metadata) or a tensor; ignored
            _ = try pop("BUILD", at)
            let target = try top("BUILD", at)
            switch target {
            case .dict, .tensor: break
            default: throw PickleError.invalid(file: file, offset: at, reason: "BUILD on a \(target.kind)")
            }
        default: return false
        }
        return true
    }

    /// Calls an allowed global by building its description (never runs code).
    private func reduce(_ fn: PickleValue, _ args: PickleValue, _ at: Int) throws -> PickleValue {
        guard case let .global(name) = fn else { throw PickleError.invalid(file: file, offset: at, reason: "REDUCE of a \(fn.kind)") }
        guard case let .tuple(a) = args else { throw PickleError.invalid(file: file, offset: at, reason: "\(name) arguments are a \(args.kind), expected a tuple") }
        func bad(_ why: String) -> PickleError { .invalid(file: file, offset: at, reason: "\(name): \(why)") }
        switch name {
        case "collections.OrderedDict":
            guard a.isEmpty else { throw bad("expected no arguments") }
            return .dict(PickleDict())
        case "torch._utils._rebuild_tensor_v2":
            guard a.count >= 6 && a.count <= 7 else { throw bad("expected 6 or 7 arguments, found \(a.count)") }
            guard case let .storage(s) = a[0] else { throw bad("first argument is a \(a[0].kind), expected a storage") }
            guard case let .int(offset) = a[1] else { throw bad("storage offset is a \(a[1].kind)") }
            let size = try intTuple(a[2], "size", bad), stride = try intTuple(a[3], "stride", bad)
            guard size.count == stride.count else { throw bad("size \(size) and stride \(stride) differ in rank") }
            guard offset >= 0, offset <= Int64(Int.max) else { throw bad("negative storage offset \(offset)") }
            return .tensor(TensorRef(storage: s, offset: Int(offset), size: size, stride: stride))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let first = a.first, case .tensor = first else { throw bad("expected a tensor argument") }
            return first
        case "torch._tensor._rebuild_from_type_v2":
            guard a.count == 4 else { throw bad("expected 4 arguments, found \(a.count)") }
            return try reduce(a[0], a[2], at)
        default:
            throw PickleError.invalid(file: file, offset: at, reason: "\(name) cannot be called")
        }
    }

    private func intTuple(_ v: PickleValue, _ what: String, _ bad: (String) -> PickleError) throws -> [Int] {
        guard case let .tuple(items) = v else { throw bad("\(what) is a \(v.kind), expected a tuple") }
        return try items.map {
            guard case let .int(x) = $0, x >= 0 else { throw bad("\(what) has a non-integer or negative entry") }
            return Int(x)
        }
    }
}
