import Foundation
import GRDB

extension ResultStore {
    /// Named, forward-only migrations (never edit a shipped one; append a new one.
    /// A database carrying a migration not listed here is refused for writing).
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-initial") { db in
            try db.create(table: "experiments") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("spec_json", .text).notNull()
                t.column("spec_hash", .text).notNull()
                t.column("created_at", .text).notNull()
                t.uniqueKey(["name", "spec_hash"])
            }
            try db.create(table: "runs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("experiment_id", .integer).notNull()
                    .references("experiments", onDelete: .cascade)
                t.column("variant", .text).notNull().check(sql: "variant IN ('sidenet','baseline')")
                t.column("seed", .integer).notNull()
                t.column("status", .text).notNull()
                    .check(sql: "status IN ('running','finished','failed','interrupted')")
                t.column("reason", .text)
                t.column("started_at", .text)
                t.column("finished_at", .text)
                t.column("heartbeat_at", .text)
                t.column("host", .text)
                t.column("threads", .integer)
                t.column("git_commit", .text)
                t.column("regime", .text)
                t.column("num_classes", .integer)
                t.column("params_prefix", .integer)
                t.column("params_sidenet", .integer)
                t.column("params_mainnet", .integer)
                t.column("flops_prefix", .integer)
                t.column("flops_sidenet", .integer)
                t.column("flops_mainnet", .integer)
                t.column("best_epoch", .integer)
                t.column("test_acc_main", .double)
                t.column("test_acc_side", .double)
                t.column("owner", .text)
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.uniqueKey(["experiment_id", "variant", "seed"])
            }
            try db.create(table: "epochs") { t in
                t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("train_loss_main", .double)
                t.column("train_loss_side", .double)
                t.column("val_loss_main", .double)
                t.column("val_loss_side", .double)
                t.column("val_acc_main", .double)
                t.column("val_acc_side", .double)
                t.column("lr", .double).notNull()
                t.column("seconds", .double).notNull()
                t.primaryKey(["run_id", "epoch"])
            }
            try db.create(table: "predictions") { t in
                predictionColumns(t)
            }
            try db.create(table: "checkpoints") { t in
                t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("kind", .text).notNull().check(sql: "kind IN ('last','best')")
                t.column("path", .text).notNull()
                t.column("created_at", .text).notNull()
                t.primaryKey(["run_id", "kind"])
            }
        }
        m.registerMigration("v2-data-split") { db in
            // Which examples a run trained, validated and tested on: split scheme, seed and a
            // hash of the index lists (SST) or of the held-out validation draw (CIFAR-10).
            try db.alter(table: "runs") { t in t.add(column: "data_split", .text) }
        }
        m.registerMigration("v3-claim-owner") { db in
            // The process holding a claim: a claim of a process that is gone is taken over at
            // once on its own machine (see ClaimOwner); other machines wait for a stale heartbeat.
            try db.alter(table: "runs") { t in
                t.add(column: "owner_host", .text)
                t.add(column: "owner_machine", .text)
                t.add(column: "owner_pid", .integer)
                t.add(column: "owner_started", .integer)
            }
        }
        registerValidationMigration(&m)  // "v4-validation-predictions"
        registerExperimentInfoMigration(&m)  // "v5-experiment-info": keep it last
        return m
    }

}

/// The columns of a per-example prediction table (`predictions`, `validation_predictions`):
/// one row per (run, example), both heads' prediction, confidence and logits.
func predictionColumns(_ t: TableDefinition) {
    t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
    t.column("idx", .integer).notNull()
    t.column("label", .integer).notNull()
    t.column("side_pred", .integer)
    t.column("side_conf", .double)
    t.column("main_pred", .integer).notNull()
    t.column("main_conf", .double).notNull()
    t.column("side_logits", .blob)
    t.column("main_logits", .blob).notNull()
    t.primaryKey(["run_id", "idx"])
}
