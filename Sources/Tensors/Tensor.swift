/// A contiguous, row-major Float32 tensor (PyTorch order: outermost dimension first).
///
/// Value semantics: `data` is a Swift array (copy-on-write). Kernels read and write it through
/// `withUnsafeBufferPointer` / `withUnsafeMutableBufferPointer`.
public struct Tensor: Equatable, CustomStringConvertible {
    public private(set) var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(Tensor.elementCount(shape) == data.count,
                     "shape \(shape) holds \(Tensor.elementCount(shape)) elements, data has \(data.count)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, repeating: 0)
    }

    public init(shape: [Int], repeating value: Float) {
        self.shape = shape
        self.data = [Float](repeating: value, count: Tensor.elementCount(shape))
    }

    /// A scalar (shape []).
    public init(scalar: Float) {
        self.init(shape: [], data: [scalar])
    }

    public static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    public mutating func reshape(_ newShape: [Int]) {
        precondition(Tensor.elementCount(newShape) == data.count,
                     "cannot reshape \(shape) to \(newShape)")
        shape = newShape
    }

    /// Row-major strides in elements.
    public var strides: [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Element at a multi-index (slow; for tests and small bookkeeping).
    public subscript(_ index: Int...) -> Float {
        get { data[flatIndex(index)] }
        set { data[flatIndex(index)] = newValue }
    }

    func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) for shape \(shape)")
        var flat = 0
        for (i, d) in index.enumerated() {
            precondition(d >= 0 && d < shape[i], "index \(index) out of range for shape \(shape)")
            flat = flat * shape[i] + d
        }
        return flat
    }

    /// Rows `range` of the outermost dimension, copied.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0])
        let inner = shape.dropFirst().reduce(1, *)
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, data: Array(data[(range.lowerBound * inner)..<(range.upperBound * inner)]))
    }

    /// Rows at `indices` of the outermost dimension, gathered in that order.
    public func gatherRows(_ indices: [Int]) -> Tensor {
        precondition(rank >= 1)
        let inner = shape.dropFirst().reduce(1, *)
        var out = [Float](repeating: 0, count: indices.count * inner)
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (r, i) in indices.enumerated() {
                    precondition(i >= 0 && i < shape[0], "row \(i) out of range for shape \(shape)")
                    (dst.baseAddress! + r * inner).update(from: src.baseAddress! + i * inner, count: inner)
                }
            }
        }
        var s = shape
        s[0] = indices.count
        return Tensor(shape: s, data: out)
    }

    /// Concatenation along the outermost dimension.
    public static func concatRows(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty)
        let tail = Array(parts[0].shape.dropFirst())
        var total = 0
        var data: [Float] = []
        data.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == tail, "concatRows: shapes \(parts[0].shape) and \(p.shape)")
            total += p.shape[0]
            data.append(contentsOf: p.data)
        }
        return Tensor(shape: [total] + tail, data: data)
    }

    public var description: String {
        let head = data.prefix(8).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(data.count > 8 ? ", …" : "")])"
    }

    /// Largest absolute elementwise difference (shapes must match).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        var m: Float = 0
        for i in 0..<data.count { m = Swift.max(m, abs(data[i] - other.data[i])) }
        return m
    }
}

import Foundation
