import Tensors

/// Dataset-agnostic index bookkeeping: hold-out splits and per-epoch mini-batch orders.
/// Everything works on index lists, so images and sentences batch the same way.
public enum Batching {
    /// Indices 0..<count split into a held-out validation part of `validationCount` indices drawn
    /// at random with `seed`, and the rest for training. Both lists are sorted ascending, so the
    /// split does not depend on how the caller later orders batches.
    public static func holdOut(count: Int, validationCount: Int, seed: UInt64)
        -> (train: [Int], validation: [Int])
    {
        precondition(validationCount >= 0 && validationCount <= count,
                     "validation size \(validationCount) for \(count) examples")
        var g = SeededGenerator(seed: seed).derived("validation-holdout")
        let perm = g.permutation(count)
        let validation = Array(perm[0..<validationCount]).sorted()
        let train = Array(perm[validationCount...]).sorted()
        return (train, validation)
    }

    /// `indices` in the order used for `epoch`: a permutation drawn from (`seed`, `epoch`), or
    /// unchanged when `seed` is nil (evaluation order).
    public static func epochOrder(_ indices: [Int], seed: UInt64?, epoch: Int) -> [Int] {
        guard let seed else { return indices }
        var g = SeededGenerator(seed: seed).derived("shuffle-epoch-\(epoch)")
        return g.permutation(indices.count).map { indices[$0] }
    }

    /// Mini-batches of `indices` for one epoch: shuffled with (`shuffleSeed`, `epoch`) when a
    /// seed is given, then cut into consecutive groups of `batchSize`. The last batch may be
    /// smaller unless `dropLast` is set. Every index appears exactly once (unless dropped).
    public static func batches(indices: [Int], batchSize: Int, shuffleSeed: UInt64?, epoch: Int,
                               dropLast: Bool = false) -> [[Int]] {
        precondition(batchSize > 0, "batch size \(batchSize)")
        let order = epochOrder(indices, seed: shuffleSeed, epoch: epoch)
        var out: [[Int]] = []
        out.reserveCapacity((order.count + batchSize - 1) / batchSize)
        var start = 0
        while start < order.count {
            let end = Swift.min(start + batchSize, order.count)
            if dropLast && end - start < batchSize { break }
            out.append(Array(order[start..<end]))
            start = end
        }
        return out
    }
}
