import Foundation
import Dispatch
import Specs
import Store
import Tensors

/// Regimes on cached features (`heads`, `sidenet`): all selected (variant, seed) runs of a spec
/// train together, epoch by epoch. Each run keeps its own seed, data order, Adam, plateau
/// schedule and model selection; within an epoch the runs' heads train side by side as lanes,
/// one per thread (OpenBLAS included: a skinny GEMM runs better whole on one core than split
/// over two; an odd heaviest lane last, on all threads), so a run computes exactly what it
/// computes alone. A MainNet lane whose inputs are bitwise another run's trains once for both
/// (`LockstepTwins.swift`). Validation and test run once
/// per chunk of cached rows for all runs together (`LockstepEvaluation`). Each run is still
/// claimed, committed (every epoch, one transaction) and finished on its own: a stop or a kill
/// leaves finished runs finished and the others with their committed epochs, to resume.
extension Runner {
    func runLockstep(_ spec: ExperimentSpec, experimentId: Int64, selection sel: RunSelection,
                     only selected: Set<RunUnit>?) -> [RunOutcome] {
        var outcomes: [RunOutcome] = []
        var claimed: [(outcome: Int, runId: Int64, resumeFrom: Int?, seed: Int, variant: Variant)] = []
        for (seed, variant) in sel.pairs {
            if options.stop.isRequested { break }
            if let selected, !selected.contains(where: { $0.experiment == spec.name && $0.variant == variant && $0.seed == seed }) {
                continue  // another shard's unit
            }
            let (outcome, c) = claim(spec, experimentId: experimentId, variant: variant, seed: seed)
            if let c { claimed.append((outcomes.count, c.runId, c.resumeFrom, seed, variant)) }
            outcomes.append(outcome)
        }
        if claimed.isEmpty { return outcomes }
        let group = LockstepGroup(runner: self, spec: spec)
        group.run(claimed.map { ($0.runId, $0.resumeFrom, $0.seed, $0.variant) })
        for (i, c) in claimed.enumerated() { outcomes[c.outcome] = group.outcomes[i] }
        return outcomes
    }
}

/// The claimed runs of one spec in lockstep (see `Runner.runLockstep`).
final class LockstepGroup {
    let runner: Runner
    let spec: ExperimentSpec
    var options: RunOptions { runner.options }
    var store: ResultStore { runner.store }
    /// One per claimed run, in claim order.
    private(set) var outcomes: [RunOutcome] = []
    private var runIds: [Int64] = []
    /// Claimed runs not yet finished, failed or interrupted (they get heartbeats).
    private var live = Set<Int>()
    private var lastHeartbeat = Date()

    init(runner: Runner, spec: ExperimentSpec) {
        self.runner = runner
        self.spec = spec
    }

    func run(_ claims: [(runId: Int64, resumeFrom: Int?, seed: Int, variant: Variant)]) {
        outcomes = claims.map { RunOutcome(experiment: spec.name, variant: $0.variant, seed: $0.seed, status: .failed) }
        runIds = claims.map(\.runId)
        live = Set(claims.indices)
        let data: PreparedData
        do { data = try PreparedData.load(spec, baseDir: options.baseDir) } catch {
            for i in claims.indices { fail(i, error) }
            return
        }
        // Runs share features when the backbone comes from a weight file; a randomly initialised
        // backbone differs per seed, so then each seed's runs form their own group, one after the other.
        var parts: [[Int]] = []
        for i in claims.indices {
            if spec.mainnet.weights == nil, let p = parts.firstIndex(where: { claims[$0[0]].seed == claims[i].seed }) {
                parts[p].append(i)
            } else if spec.mainnet.weights != nil, !parts.isEmpty {
                parts[0].append(i)
            } else {
                parts.append([i])
            }
        }
        for part in parts {
            if options.stop.isRequested { break }
            run(part, claims, data: data)
        }
        if options.stop.isRequested { interrupt(Array(live).sorted()) }
    }

    /// Builds the runs `part` of `claims` (their features one set), then trains them together.
    private func run(_ part: [Int], _ claims: [(runId: Int64, resumeFrom: Int?, seed: Int, variant: Variant)],
                     data: PreparedData) {
        var runs: [(Int, LockstepRun)] = []
        var features: FeatureCache.Features?
        var key: String?
        // A backbone loaded from a weight file is the same for every run of the part: it is built
        // and loaded once, and each further run gets its own seeded heads on it (a head loaded
        // from the file too would be the same for all: then each run builds its own net).
        var shared: Net?
        for i in part {
            let c = claims[i]
            if options.stop.isRequested { break }
            do {
                let net: Net
                if let s = shared {
                    net = SideNetNet(try s.model.sharingBackbone(seed: UInt64(c.seed)))
                } else {
                    let built = try buildRunNetLoaded(spec, data: data, seed: c.seed, options: options)
                    net = built.net
                    if spec.mainnet.weights != nil && !built.headLoaded { shared = net }
                }
                if key == nil { key = try FeatureCache.key(spec, data: data, seed: c.seed, baseDir: options.baseDir) }
                features = try runner.cache.features(key: key!, poolCount: data.poolCount, order: data.featureOrder,
                                                     batchSize: spec.evaluation.batchSize, dtype: spec.training.featureCacheDType,
                                                     stats: &runner.stats, progress: options.progress, stop: options.stop) { idx in
                    try self.heartbeatIfDue()  // a long feature pass must not look like an abandoned claim
                    return try net.features(idx, data: data)
                }
                let run = LockstepRun(spec: spec, variant: c.variant, seed: c.seed, runId: c.runId, net: net,
                                      resultsDir: options.resultsDir)
                if let done = c.resumeFrom, done >= 1 {
                    try run.restore(epoch: done, store: store)
                    options.progress.note("  resuming \(spec.name) \(run.tag) after epoch \(done)")
                }
                runs.append((i, run))
            } catch RunnerError.interrupted {
                break
            } catch {
                fail(i, error)
            }
        }
        if options.stop.isRequested { return }  // the caller marks every live run interrupted
        if let f = features, !runs.isEmpty { train(runs, features: f, data: data) }
    }

    // MARK: epochs

    private func train(_ all: [(Int, LockstepRun)], features f: FeatureCache.Features, data: PreparedData) {
        var active = all
        let epochs = spec.training.epochs
        while !active.isEmpty {
            let done = active.filter { $0.1.nextEpoch > epochs }
            if !done.isEmpty {
                finish(done, features: f, data: data)
                active.removeAll { a in done.contains { $0.0 == a.0 } }
                continue
            }
            if options.stop.isRequested { interrupt(Array(live).sorted()); return }
            let epoch = active.map(\.1.nextEpoch).min()!
            let group = active.filter { $0.1.nextEpoch == epoch }
            let errors = trainEpoch(group.map(\.1), epoch: epoch, features: f, data: data)
            if errors.contains(where: { if case RunnerError.interrupted? = $0 { return true } else { return false } }) {
                interrupt(Array(live).sorted())
                return
            }
            var trained: [(Int, LockstepRun)] = []
            for (g, e) in zip(group, errors) {
                if let e { fail(g.0, e); active.removeAll { $0.0 == g.0 } } else { trained.append(g) }
            }
            if trained.isEmpty { continue }
            let began = Date()
            let validations: [HeadsValidation]
            do {
                validations = try LockstepEvaluation.validate(trained.map(\.1), features: f, data: data,
                                                              batchSize: spec.evaluation.batchSize, heartbeat: heartbeatIfDue)
            } catch {
                for t in trained { fail(t.0, error) }
                active.removeAll { a in trained.contains { $0.0 == a.0 } }
                continue
            }
            let share = Date().timeIntervalSince(began) / Double(trained.count)
            for ((i, run), v) in zip(trained, validations) {
                do {
                    let (row, reduced) = try run.commitEpoch(epoch, validation: v, extraSeconds: share, store: store)
                    var s = String(format: "%@ epoch %d/%d: train loss %.4f, val loss %.4f, val acc %.2f%%", run.label, epoch,
                                   epochs, row.trainLossMain ?? .nan, v.lossMain, 100 * v.accMain)
                    if let a = v.accSide { s += String(format: ", SideNet val acc %.2f%%", 100 * a) }
                    if reduced { s += String(format: ", lr -> %.3g", run.adam.lr) }
                    options.progress.note(s)
                    try options.afterEpoch?(spec.name, run.variant, run.seed, epoch)
                } catch {
                    fail(i, error)
                    active.removeAll { $0.0 == i }
                }
            }
        }
    }

    /// One epoch of each run: its lanes (`LockstepRun.Lane`: the MainNet head and the SideNet
    /// train independently) spread over `options.threads` threads, heaviest first, each lane on
    /// one thread. Lanes, not whole runs, are the unit: with five 16,384-wide SideNet lanes a
    /// thread no longer holds three whole SideNet runs while the other idles; the odd fifth runs
    /// last on both threads, while the lighter lanes fill the gaps before it. A MainNet lane
    /// that computes the same bits as an earlier run's (`LockstepTwins`) trains once; its run
    /// takes the result. Returns each run's error (nil: trained).
    private func trainEpoch(_ runs: [LockstepRun], epoch: Int, features f: FeatureCache.Features,
                            data: PreparedData) -> [Error?] {
        for run in runs { run.beginEpoch(epoch, data: data) }
        let leader = LockstepRun.mainLaneLeaders(runs)
        let sharers = runs.indices.map { r in 1 + leader.filter { $0 == r }.count }
        let twins = leader.compactMap { $0 }.count
        var label = runs.count == 1 ? "\(spec.name) \(runs[0].tag) epoch \(epoch)/\(spec.training.epochs)"
            : "\(spec.name) epoch \(epoch)/\(spec.training.epochs), \(runs.count) runs in lockstep"
        if twins > 0 { label += ", \(twins) MainNet head lane(s) shared" }
        options.progress.begin(label, total: runs.count * data.train.count, unit: "ex")
        let tasks = runs.indices.flatMap { r in runs[r].lanes.filter { $0 != .main || leader[r] == nil }.map { (run: r, lane: $0) } }
        let shared = LockstepShared(count: tasks.count)
        let progress = options.progress, stop = options.stop
        let workers = min(options.threads, tasks.count)
        // heaviest first (a stable order: ties keep run order, the MainNet lane before the SideNet's)
        let cost = { (t: Int) in runs[tasks[t].run].cost(of: tasks[t].lane, features: f) }
        let sorted = tasks.indices.sorted { a, b in cost(a) != cost(b) ? cost(a) > cost(b) : a < b }
        // The heaviest lanes that would leave a thread idle (their count not a multiple of the
        // threads) run last, one at a time, their kernels split over all threads (rows and
        // columns are independent in the kernels: the same bits on any number of threads).
        let heavy = sorted.prefix { cost($0) == cost(sorted[0]) }.count, extra = workers > 1 ? heavy % workers : 0
        let split = Array(sorted[(heavy - extra)..<heavy])
        let order = Array(sorted[..<(heavy - extra)] + sorted[heavy...])
        let train: (Int) -> Void = { t in
            let copies = tasks[t].lane == .main ? sharers[tasks[t].run] : 1
            do {
                try runs[tasks[t].run].trainLane(tasks[t].lane, epoch: epoch, features: f, data: data, stop: stop) { n in
                    shared.locked { shared.done += n * copies; progress.advance(to: shared.done) }
                }
            } catch {
                shared.locked { shared.errors[t] = error }
            }
        }
        let phase1Workers = min(workers, order.count)
        if phase1Workers <= 1 {
            while let t = shared.next(order) { train(t) }
        } else {
            Threads.set(1)  // one thread per lane, OpenBLAS included
            defer { Threads.set(options.threads) }
            DispatchQueue.concurrentPerform(iterations: phase1Workers) { _ in while let t = shared.next(order) { train(t) } }
        }
        for t in split { train(t) }  // on every thread (`Threads.count` is `options.threads` again)
        var laneErrors = runs.indices.map { r in
            LockstepRun.Lane.allCases.map { lane in
                tasks.indices.first { tasks[$0].run == r && tasks[$0].lane == lane }.flatMap { shared.errors[$0] }
            }
        }
        LockstepRun.shareMainLanes(runs, leaders: leader, laneErrors: &laneErrors)
        let errors = runs.indices.map { runs[$0].endEpoch(errors: laneErrors[$0]) }
        progress.end(errors.allSatisfy { $0 == nil } ? "\(runs.count) run(s) trained" : "stopped")
        return errors
    }

    // MARK: the end of a run

    /// Model selection, validation and test rows of `done` (all runs at once), then each run
    /// finishes in its own transaction.
    private func finish(_ done: [(Int, LockstepRun)], features f: FeatureCache.Features, data: PreparedData) {
        var ok: [(Int, LockstepRun)] = []
        for (i, run) in done {
            do { try run.loadBest(); ok.append((i, run)) } catch { fail(i, error) }
        }
        if ok.isEmpty { return }
        let runs = ok.map(\.1), bs = spec.evaluation.batchSize
        do {
            let validation = try LockstepEvaluation.predictionRows(runs, features: f, idxs: data.validation, data: data,
                                                                   batchSize: bs, heartbeat: heartbeatIfDue)
            options.progress.begin("\(spec.name) test, \(runs.count) run(s)", total: data.test.count, unit: "ex")
            let test = try LockstepEvaluation.predictionRows(runs, features: f, idxs: data.test, data: data,
                                                             batchSize: bs, heartbeat: heartbeatIfDue)
            options.progress.end("")
            for (k, (i, run)) in ok.enumerated() {
                let (accMain, accSide) = headAccuracies(test[k], withSide: run.withSide)
                do {
                    try store.finishRun(runId: run.runId, predictions: test[k], summary: run.summary(data: data, accMain: accMain,
                                                                                                      accSide: accSide),
                                        validationPredictions: validation[k])
                    live.remove(i)
                    outcomes[i].status = .finished
                    outcomes[i].testAccMain = accMain
                    outcomes[i].testAccSide = accSide
                    options.progress.note(String(format: "%@: test acc MainNet %.2f%%", run.label, 100 * accMain)
                                          + (accSide.map { String(format: ", SideNet %.2f%%", 100 * $0) } ?? ""))
                } catch {
                    fail(i, error)
                }
            }
        } catch {
            for (i, _) in ok { fail(i, error) }
        }
    }

    private func fail(_ i: Int, _ error: Error) {
        live.remove(i)
        let o = outcomes[i]
        outcomes[i] = runner.failClaimed(runIds[i], spec, o.variant, o.seed, error: error)
    }

    private func interrupt(_ indices: [Int]) {
        for i in indices {
            live.remove(i)
            runner.interruptClaimed(runIds[i], &outcomes[i])
        }
    }

    /// Heartbeats every claimed run that is not over yet, once a minute.
    private func heartbeatIfDue() throws {
        guard Date().timeIntervalSince(lastHeartbeat) > 60 else { return }
        for i in live.sorted() { try store.heartbeat(runId: runIds[i]) }
        lastHeartbeat = Date()
    }
}

/// What the worker threads of one lockstep epoch share: the next run to take, examples done, errors.
private final class LockstepShared: @unchecked Sendable {
    private let lock = NSLock()
    private var taken = 0
    var done = 0
    var errors: [Error?]
    init(count: Int) { errors = [Error?](repeating: nil, count: count) }

    func locked(_ body: () -> Void) { lock.lock(); body(); lock.unlock() }

    func next(_ order: [Int]) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard taken < order.count else { return nil }
        taken += 1
        return order[taken - 1]
    }
}
