import Foundation

// Files of the threshold-choice section: choose.md (every table and warning), CSVs, and gnuplot
// scripts. Labels in scripts are single-quoted gnuplot strings (`gpSingle`): ' doubled, control
// characters dropped, so no text from the store can end a string or run a command.

/// A single-quoted gnuplot string literal: no escapes are interpreted inside, ' is doubled,
/// control characters are dropped.
public func gpSingle(_ s: String) -> String {
    let clean = String(String.UnicodeScalarView(s.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
    return "'" + clean.replacingOccurrences(of: "'", with: "''") + "'"
}

public enum ChoiceFiles {
    /// (tables, plots, script names). File stems come from `ReportWriter.safeFileName`.
    public static func make(_ exps: [ExperimentChoice]) -> (tables: [GeneratedFile], plots: [GeneratedFile], scripts: [String]) {
        var tables = [GeneratedFile](), plots = [GeneratedFile](), scripts = [String]()
        var md = "# Choosing θ, exit rules and diagnostics\n\n"
        md += "θ is chosen on each run's validation split only (per seed: seeds are separate models) and the test split "
            + "is reported at that θ. Reference: the same run's MainNet alone. ltt guarantees the target with probability "
            + "≥ 1 − δ (δ = \(cfmt(ChoiceReport.delta))); naive guarantees nothing.\n\n"
        var theta = "experiment,seed,synthetic,target_drop_pts,method,delta,theta,val_acc_pct,val_mainnet_acc_pct,test_acc_pct,"
            + "test_mainnet_acc_pct,test_drop_pts,test_exit_rate,test_params_per_input,test_flops_per_input\n"
        var resplit = "experiment,seed,target_drop_pts,method,delta,trials,violations,violation_rate,no_theta\n"
        var diag = "experiment,rule,side_failure_auroc,main_failure_auroc,mean_acc_pct_over_params_range\n"
        var timing = "experiment,seed,rule,theta,inputs,exits,measured_seconds_per_input,measured_mainnet_seconds_per_input,"
            + "counted_params_per_input,counted_flops_per_input,accuracy_pct,batch_size,threads,repeats\n"
        md += "## Chosen θ (max-softmax rule)\n\n| experiment | seed | drop ≤ | method | θ | val acc % | test acc % | test MainNet % | test drop | test exit rate | params/input |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
        for e in exps {
            for c in e.choices {
                let r = c.result, t = r.test
                md += "| \(label(e)) | \(c.seed) | \(cfmt(c.dropPts)) | \(r.method.rawValue) | \(r.theta.map { cfmt($0) } ?? "none") | "
                    + cf2(r.val.accuracyPct) + " | " + cf2(t.accuracyPct) + " | " + cf2(t.mainnetAccuracyPct) + " | "
                    + cf2(t.dropPts) + " | " + String(format: "%.3f", t.exitRate) + " | " + String(format: "%.4g", t.paramsPerInput) + " |\n"
                theta += csvLine([e.info.name, "\(c.seed)", "\(e.info.synthetic)", cfmt(c.dropPts), r.method.rawValue, cfmt(r.delta),
                              r.theta.map { cfmt($0) } ?? "", cg(r.val.accuracyPct), cg(r.val.mainnetAccuracyPct), cg(t.accuracyPct),
                              cg(t.mainnetAccuracyPct), cg(t.dropPts), cg(t.exitRate), cg(t.paramsPerInput), cg(t.flopsPerInput)])
            }
        }
        md += "\n## Re-split check: \(ChoiceReport.resplitTrials) random halvings of validation+test into calibration and evaluation\n\n"
        md += "Violation rate = share of halvings whose evaluation-half drop exceeds the target (ltt promises ≤ δ = \(cfmt(ChoiceReport.delta)); naive promises nothing). Halvings where no θ qualifies never violate.\n\n"
        md += "| experiment | seed | drop ≤ | method | violation rate | no θ |\n|---|---|---|---|---|---|\n"
        for e in exps {
            for r in e.resplits {
                let flag = r.method == .ltt && r.rate > r.delta ? " **> δ**" : ""
                md += "| \(label(e)) | \(r.seed) | \(cfmt(r.dropPts)) | \(r.method.rawValue) | \(String(format: "%.2f", r.rate))\(flag) | \(r.noTheta)/\(r.trials) |\n"
                resplit += csvLine([e.info.name, "\(r.seed)", cfmt(r.dropPts), r.method.rawValue, cfmt(r.delta), "\(r.trials)",
                                "\(r.violations)", cg(r.rate), "\(r.noTheta)"])
            }
        }
        md += "\n## Exit rules (test split, mean over seeds)\n\n"
        md += ExitRule.allCases.map { "- \($0.rawValue): \($0.phrase)" }.joined(separator: "\n")
        md += "\n\nFor one-logit (sigmoid) heads the three rules order inputs identically (all increase with |logit|); their curves coincide.\n\n"
        md += "| experiment | rule | SideNet failure AUROC | MainNet failure AUROC | mean acc % over params range |\n|---|---|---|---|---|\n"
        for e in exps {
            for a in e.auroc {
                let area = e.ruleSweeps.first { $0.rule == a.rule }?.area
                md += "| \(label(e)) | \(a.rule.rawValue) | \(copt(a.side, "%.4f")) | \(copt(a.main, "%.4f")) | \(copt(area, "%.3f")) |\n"
                diag += csvLine([e.info.name, a.rule.rawValue, a.side.map(cg) ?? "", a.main.map(cg) ?? "", area.map(cg) ?? ""])
            }
        }
        md += "\n## Per-class diagnostics (test split)\n\n"
        for e in exps {
            let stem = ReportWriter.safeFileName(e.info.name)
            md += "### \(label(e))\n\n\(e.diagnosticTheta)\n\n| class | inputs | exit rate | accuracy % | MainNet accuracy % |\n|---|---|---|---|---|\n"
            var pc = "class,inputs,exit_rate,accuracy_pct,mainnet_accuracy_pct\n"
            for c in e.perClass {
                md += "| \(c.label) | \(c.inputs) | \(copt(c.exitRate, "%.3f")) | \(copt(c.accuracyPct, "%.2f")) | \(copt(c.mainnetAccuracyPct, "%.2f")) |\n"
                pc += csvLine(["\(c.label)", "\(c.inputs)", cg(c.exitRate), cg(c.accuracyPct), cg(c.mainnetAccuracyPct)])
            }
            md += "\n"
            tables.append(GeneratedFile(name: "perclass_\(stem).csv", contents: pc))
            for s in e.ruleSweeps {
                var sw = "theta,exit_rate,accuracy_pct,params_per_input,flops_per_input,seeds\n"
                for p in s.points { sw += csvLine([cfmt(p.theta), cg(p.exitRate), cg(p.accuracyPct), cg(p.params), cg(p.flops), "\(s.seeds)"]) }
                tables.append(GeneratedFile(name: "sweeps_\(stem)_rule_\(s.rule.rawValue).csv", contents: sw))
            }
            ChoiceFigures.rules(e, stem: stem, into: &plots, &scripts)
            ChoiceFigures.perClass(e, stem: stem, into: &plots, &scripts)
        }
        md += "## Measured time (real batch-compacted early exit) beside counted cost\n\n"
        let timed = exps.filter { !$0.timings.isEmpty }
        if timed.isEmpty { md += "No timings in the database (run `sidenet measure EXPERIMENT`).\n\n" } else {
            md += "Seconds are measured wall-clock on this machine (shared CPU: compare ratios, not absolutes); parameters and FLOPs are counted.\n\n"
            md += "| experiment | seed | rule | θ | exit rate | measured s/input | measured MainNet-alone s/input | counted params/input | counted FLOPs/input | acc % |\n|---|---|---|---|---|---|---|---|---|---|\n"
            for e in timed {
                for (seed, t) in e.timings {
                    md += "| \(label(e)) | \(seed) | \(t.rule) | \(cfmt(t.theta)) | \(String(format: "%.3f", Double(t.exits) / Double(max(t.inputs, 1)))) | "
                        + String(format: "%.3g | %.3g | %.4g | %.4g | %.2f |\n", t.secondsPerInput, t.mainnetSecondsPerInput,
                                 t.paramsPerInput, t.flopsPerInput, 100 * t.accuracy)
                    timing += csvLine([e.info.name, "\(seed)", t.rule, cfmt(t.theta), "\(t.inputs)", "\(t.exits)", cg(t.secondsPerInput),
                                   cg(t.mainnetSecondsPerInput), cg(t.paramsPerInput), cg(t.flopsPerInput), cg(100 * t.accuracy),
                                   "\(t.batchSize)", "\(t.threads)", "\(t.repeats)"])
                }
            }
            md += "\n"
            ChoiceFigures.seconds(timed, into: &plots, &scripts)
        }
        let warnings = exps.flatMap(\.warnings)
        md += "## Warnings\n\n" + (warnings.isEmpty ? "None.\n" : warnings.map { "- WARNING: \($0)" }.joined(separator: "\n") + "\n")
        if exps.contains(where: { $0.info.synthetic }) { md += "\nRuns marked synthetic used generated stand-in data.\n" }
        tables += [GeneratedFile(name: "choose.md", contents: md), GeneratedFile(name: "choose_theta.csv", contents: theta),
                   GeneratedFile(name: "choose_resplit.csv", contents: resplit),
                   GeneratedFile(name: "diagnostics.csv", contents: diag), GeneratedFile(name: "timings.csv", contents: timing)]
        return (tables, plots, scripts)
    }

    static func label(_ e: ExperimentChoice) -> String {
        let l = e.info.label.replacingOccurrences(of: "|", with: "/").filter { !$0.isNewline }
        return e.info.synthetic ? "\(l) (synthetic)" : l
    }
}

func cf2(_ x: Double) -> String { String(format: "%.2f", x) }
func cg(_ x: Double) -> String { x.isFinite ? String(format: "%.8g", x) : "" }
func copt(_ x: Double?, _ f: String) -> String { x.flatMap { $0.isFinite ? String(format: f, $0) : nil } ?? "-" }
