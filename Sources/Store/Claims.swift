import Foundation
import GRDB

/// Claims and the writes of a claimed run: every write checks that this store still holds it.
extension ResultStore {
    /// Claims the run (experimentId, variant, seed) for this store in one write transaction:
    /// - no row: insert it as 'running' → `.claimed(runId, nil)`;
    /// - 'finished': `.skipFinished`, unless `force` (then its epochs, predictions, checkpoints
    ///   and summary are deleted and it restarts from scratch);
    /// - 'running' and still held (even with `force`): `.skipRunning`. Held means: on this
    ///   machine, the claim's process (pid and start time) still runs; from another machine
    ///   (or a row claimed before migration v3), its heartbeat is fresher than `staleAfter`;
    /// - 'running' but not held (its process is gone, or another machine's heartbeat is
    ///   stale), 'failed' or 'interrupted': reclaimed → `.claimed(runId, last
    ///   committed epoch with a 'last' checkpoint, or nil)`; epoch rows after that epoch are
    ///   dropped (and with `force` everything is dropped and it restarts from scratch).
    public func claimRun(experimentId: Int64, variant: RunVariant, seed: Int, host: String, threads: Int,
                         gitCommit: String?, regime: String, force: Bool = false) throws -> ClaimResult {
        try write { db in
            let now = clock()
            let nowText = ResultStore.format(now)
            guard var run = try RunRow.filter(sql: "experiment_id = ? AND variant = ? AND seed = ?",
                                              arguments: [experimentId, variant, seed]).fetchOne(db) else {
                let row = RunRow(id: nil, experimentId: experimentId, variant: variant, seed: seed, status: .running,
                                 reason: nil, startedAt: nowText, finishedAt: nil, heartbeatAt: nowText,
                                 host: host, threads: threads, gitCommit: gitCommit, regime: regime,
                                 numClasses: nil, paramsPrefix: nil, paramsSidenet: nil, paramsMainnet: nil,
                                 flopsPrefix: nil, flopsSidenet: nil, flopsMainnet: nil, bestEpoch: nil,
                                 testAccMain: nil, testAccSide: nil, owner: ownerToken, attempts: 1)
                var claimed = row
                claimed.setClaimOwner(process)
                try claimed.insert(db)
                return .claimed(runId: db.lastInsertedRowID, resumeFromEpoch: nil)
            }
            let runId = run.id!
            var fresh = force
            switch run.status {
            case .finished:
                if !force { return .skipFinished(runId: runId) }
            case .running:
                if isHeld(run, now: now) { return .skipRunning(runId: runId) }
            case .failed, .interrupted:
                break
            }
            var resume: Int? = nil
            if !fresh {
                resume = try Int.fetchOne(db, sql: "SELECT epoch FROM checkpoints WHERE run_id = ? AND kind = 'last'",
                                          arguments: [runId])
                if resume == nil { fresh = true }
            }
            if fresh {
                try db.execute(sql: "DELETE FROM epochs WHERE run_id = ?", arguments: [runId])
                try db.execute(sql: "DELETE FROM checkpoints WHERE run_id = ?", arguments: [runId])
                try db.execute(sql: "DELETE FROM predictions WHERE run_id = ?", arguments: [runId])
                run.bestEpoch = nil
                run.startedAt = nowText
            } else if let resume {
                try db.execute(sql: "DELETE FROM epochs WHERE run_id = ? AND epoch > ?", arguments: [runId, resume])
                try db.execute(sql: "DELETE FROM checkpoints WHERE run_id = ? AND epoch > ?", arguments: [runId, resume])
                try db.execute(sql: "DELETE FROM predictions WHERE run_id = ?", arguments: [runId])
            }
            run.status = .running
            run.reason = nil
            run.finishedAt = nil
            run.heartbeatAt = nowText
            run.host = host
            run.threads = threads
            run.gitCommit = gitCommit
            run.regime = regime
            run.numClasses = nil; run.paramsPrefix = nil; run.paramsSidenet = nil; run.paramsMainnet = nil
            run.flopsPrefix = nil; run.flopsSidenet = nil; run.flopsMainnet = nil
            run.testAccMain = nil; run.testAccSide = nil
            run.owner = ownerToken
            run.setClaimOwner(process)
            run.attempts += 1
            try run.update(db)
            return .claimed(runId: runId, resumeFromEpoch: fresh ? nil : resume)
        }
    }

    /// Whether a 'running' row is still held by its claimant (see `claimRun`).
    func isHeld(_ run: RunRow, now: Date) -> Bool {
        if run.owner == ownerToken { return true }
        if let alive = run.claimOwner?.isAlive(seenFrom: process) { return alive }
        let beat = run.heartbeatAt.flatMap(ResultStore.parse) ?? .distantPast
        return now.timeIntervalSince(beat) < staleAfter
    }

    /// Throws unless this store holds the 'running' claim on the run.
    func requireOwner(_ db: Database, _ runId: Int64) throws -> RunRow {
        guard let run = try RunRow.fetchOne(db, key: runId) else { throw StoreError.unknownRun(runId) }
        guard run.status == .running, run.owner == ownerToken else {
            throw StoreError.notOwner(runId: runId, status: run.status.rawValue, owner: run.owner)
        }
        return run
    }

    /// Refreshes the claim's heartbeat. Throws `notOwner` if the run was taken over.
    public func heartbeat(runId: Int64) throws {
        try write { db in
            _ = try requireOwner(db, runId)
            try db.execute(sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ?", arguments: [timestamp(), runId])
        }
    }

    /// Records a finished epoch and its checkpoint(s) atomically (and refreshes the heartbeat).
    /// `epoch.runId` must equal `runId`. `checkpointPath` becomes the 'last' checkpoint (the
    /// resume point); `bestCheckpointPath`, if given, the 'best' one and `runs.best_epoch`.
    public func commitEpoch(runId: Int64, epoch: EpochRow, checkpointPath: String?,
                            bestCheckpointPath: String? = nil) throws {
        guard epoch.runId == runId else {
            throw StoreError.invalidArgument("epoch row for run \(epoch.runId) committed to run \(runId)")
        }
        try write { db in
            _ = try requireOwner(db, runId)
            let now = timestamp()
            try epoch.upsert(db)
            if let checkpointPath {
                try CheckpointRow(runId: runId, epoch: epoch.epoch, kind: .last, path: checkpointPath, createdAt: now).upsert(db)
            }
            if let bestCheckpointPath {
                try CheckpointRow(runId: runId, epoch: epoch.epoch, kind: .best, path: bestCheckpointPath, createdAt: now).upsert(db)
                try db.execute(sql: "UPDATE runs SET best_epoch = ? WHERE id = ?", arguments: [epoch.epoch, runId])
            }
            try db.execute(sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ?", arguments: [now, runId])
        }
    }

    /// Writes the test predictions and the summary and marks the run 'finished', atomically.
    public func finishRun(runId: Int64, predictions: [PredictionRow], summary: RunSummary,
                          validationPredictions: [PredictionRow] = []) throws {
        if let bad = (predictions + validationPredictions).first(where: { $0.runId != runId }) {
            throw StoreError.invalidArgument("prediction row for run \(bad.runId) written to run \(runId)")
        }
        try write { db in
            var run = try requireOwner(db, runId)
            try db.execute(sql: "DELETE FROM predictions WHERE run_id = ?", arguments: [runId])
            for p in predictions { try p.insert(db) }
            try ResultStore.writeValidationPredictions(db, runId: runId, rows: validationPredictions)
            let now = timestamp()
            run.status = .finished
            run.finishedAt = now
            run.heartbeatAt = now
            run.reason = nil
            run.numClasses = summary.numClasses
            run.paramsPrefix = summary.paramsPrefix
            run.paramsSidenet = summary.paramsSidenet
            run.paramsMainnet = summary.paramsMainnet
            run.flopsPrefix = summary.flopsPrefix
            run.flopsSidenet = summary.flopsSidenet
            run.flopsMainnet = summary.flopsMainnet
            run.bestEpoch = summary.bestEpoch ?? run.bestEpoch
            run.testAccMain = summary.testAccMain
            run.testAccSide = summary.testAccSide
            run.dataSplit = summary.dataSplit
            try run.update(db)
        }
    }

    /// Marks the run 'failed' with a reason (it will be resumed by the next claim).
    public func failRun(runId: Int64, reason: String) throws {
        try setEndState(runId, .failed, reason)
    }

    /// Marks the run 'interrupted' (signal, user stop); it will be resumed by the next claim.
    public func markInterrupted(runId: Int64, reason: String = "interrupted") throws {
        try setEndState(runId, .interrupted, reason)
    }

    func setEndState(_ runId: Int64, _ status: RunStatus, _ reason: String) throws {
        try write { db in
            _ = try requireOwner(db, runId)
            try db.execute(sql: "UPDATE runs SET status = ?, reason = ?, finished_at = ? WHERE id = ?",
                           arguments: [status.rawValue, reason, timestamp(), runId])
        }
    }

}
