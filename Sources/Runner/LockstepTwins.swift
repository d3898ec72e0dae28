import Foundation
import Optim
import Tensors

/// Two runs of a lockstep group whose MainNet head lanes compute the same bits in an epoch
/// train that lane once: the follower takes the leader's result.
///
/// The MainNet head lane of an epoch (`LockstepRun.trainLane(.main)`) is a deterministic
/// function of what it reads: the head's parameters (values, frozen flags) and BatchNorm
/// buffers, the Adam state of the head's parameters (moments, step counts) with Adam's lr and
/// constants, the epoch's batches, the regime's declared training of the head, the cached head
/// features and the labels. It reads nothing of the SideNet (cached features are inputs: the
/// SideNet's loss never reaches the MainNet head when the backbone is frozen). Within a group
/// the spec (declaration, hyperparameters), features and labels are one; so when the rest is
/// bitwise equal at the start of the epoch, the two lanes compute the same bits.
///
/// That is the case of the (sidenet, s) and (baseline, s) runs of regime `heads`: the same seed
/// gives the same head initialisation and data order, until their plateau schedules (which
/// watch different validation losses) first set different learning rates. It is checked, not
/// assumed, every epoch: a different seed or lr, a resumed run restored at another state, a
/// head loaded differently — anything that differs — and both lanes train.
extension LockstepRun {
    /// For each run of an epoch's group (after `beginEpoch`), the earlier run whose MainNet lane
    /// it takes (`mainLaneMatches`), or nil: it trains its own. A leader is never a follower.
    static func mainLaneLeaders(_ runs: [LockstepRun]) -> [Int?] {
        var leader = [Int?](repeating: nil, count: runs.count)
        for r in runs.indices { leader[r] = (0..<r).first { leader[$0] == nil && runs[r].mainLaneMatches(runs[$0]) } }
        return leader
    }

    /// After the epoch's lanes ran: each follower takes its leader's MainNet lane (or, when that
    /// lane failed, its error: the same lane would have failed the same way); every run served
    /// by a lane gets an even share of the lane's seconds. `laneErrors[run][lane.rawValue]`.
    static func shareMainLanes(_ runs: [LockstepRun], leaders: [Int?], laneErrors: inout [[Error?]]) {
        let main = Lane.main.rawValue, laneSeconds = runs.map(\.mainSeconds)
        let sharers = runs.indices.map { r in 1 + leaders.filter { $0 == r }.count }
        for r in runs.indices where sharers[r] > 1 { runs[r].mainSeconds = laneSeconds[r] / Double(sharers[r]) }
        for r in runs.indices {
            guard let l = leaders[r] else { continue }
            runs[r].mainSeconds = laneSeconds[l] / Double(sharers[l])
            laneErrors[r][main] = laneErrors[l][main]
            if laneErrors[l][main] == nil {
                do { try runs[r].takeMainLane(from: runs[l]) } catch { laneErrors[r][main] = error }
            }
        }
    }

    /// Whether this run's MainNet lane of the begun epoch computes exactly what `other`'s does
    /// (both after `beginEpoch`, in the same group).
    func mainLaneMatches(_ other: LockstepRun) -> Bool {
        guard other !== self, spec.specHash == other.spec.specHash, batches == other.batches,
              adam.lr.bitPattern == other.adam.lr.bitPattern, adam.beta1.bitPattern == other.adam.beta1.bitPattern,
              adam.beta2.bitPattern == other.adam.beta2.bitPattern, adam.eps.bitPattern == other.adam.eps.bitPattern,
              adam.weightDecay.bitPattern == other.adam.weightDecay.bitPattern else { return false }
        guard mainHeadEquals(other) else { return false }
        let sa = adam.exportState().parameters, sb = other.adam.exportState().parameters
        for (a, b) in zip(headAdamNames, other.headAdamNames) {
            guard (a == nil) == (b == nil) else { return false }  // trained by one Adam, not the other
            guard let a, let b else { continue }
            switch (sa[a], sb[b]) {
            case (nil, nil): continue
            case let (x?, y?):
                guard x.step == y.step, x.shape == y.shape, sameBits(x.m, y.m), sameBits(x.v, y.v) else { return false }
            default: return false
            }
        }
        return true
    }

    /// Whether the two MainNet heads hold the same bits: parameters (values, frozen flags) and
    /// BatchNorm buffers. Then their eval-mode logits on any rows are the same bits too.
    func mainHeadEquals(_ other: LockstepRun) -> Bool {
        let mine = head.namedParameters(), theirs = other.head.namedParameters()
        guard mine.count == theirs.count else { return false }
        for ((na, p), (nb, q)) in zip(mine, theirs) {
            guard na == nb, p.frozen == q.frozen, p.value.shape == q.value.shape, sameBits(p.value.data, q.value.data) else { return false }
        }
        let bufs = head.namedBuffers(), otherBufs = other.head.namedBuffers()
        guard bufs.count == otherBufs.count else { return false }
        for ((na, b), (nb, c)) in zip(bufs, otherBufs) {
            guard na == nb, b.value.shape == c.value.shape, sameBits(b.value.data, c.value.data) else { return false }
        }
        return true
    }

    /// After `leader`'s MainNet lane trained the begun epoch (and every lane of the epoch is
    /// done): this run's MainNet head, its BatchNorm buffers, gradients and Adam state, and the
    /// epoch's MainNet sums become the leader's (deep copies). The copy's time is added to this
    /// run's MainNet seconds (its share of the lane's, set by `shareMainLanes`).
    func takeMainLane(from leader: LockstepRun) throws {
        let began = Date()
        for ((_, p), (_, q)) in zip(head.namedParameters(), leader.head.namedParameters()) {
            p.value = Tensor(shape: q.value.shape, data: copied(q.value.data))
            if !q.frozen { p.grad = Tensor(shape: q.grad.shape, data: copied(q.grad.data)) }
        }
        for ((_, b), (_, c)) in zip(head.namedBuffers(), leader.head.namedBuffers()) {
            b.value = Tensor(shape: c.value.shape, data: copied(c.value.data))
        }
        var state = adam.exportState()
        let theirs = leader.adam.exportState().parameters
        for (a, b) in zip(headAdamNames, leader.headAdamNames) {
            guard let a, let b else { continue }
            state.parameters[a] = theirs[b].map { AdamParameterState(step: $0.step, shape: $0.shape, m: copied($0.m), v: copied($0.v)) }
        }
        try adam.importState(state)
        sumMain = leader.sumMain
        seen = leader.seen
        mainSeconds += Date().timeIntervalSince(began)
    }

    /// The Adam name of each MainNet head parameter (nil: not among Adam's parameters), in the head's order.
    private var headAdamNames: [String?] {
        let names = Dictionary(adam.parameters.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        return head.namedParameters().map { names[ObjectIdentifier($0.1)] }
    }
}

/// The same count and bit patterns (NaN payloads and signed zeros included).
private func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in pa.count == 0 || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0 } }
}

/// A copy in its own storage (no buffer shared with the source: the two runs may write their
/// copies on different threads later).
private func copied(_ a: [Float]) -> [Float] { a.withUnsafeBufferPointer { Array($0) } }
