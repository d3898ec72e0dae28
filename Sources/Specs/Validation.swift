import Models

/// Semantic checks. Each failure is a `SpecError` with the key path of the offending field;
/// `ExperimentSpec.load` adds the file name and line. Sections are checked in file order.
extension ExperimentSpec {
    public func validate() throws {
        try validateTopLevel()
        try validateData()
        let inline = try validateMainNet()
        try validateSideNet(inline)
        try validateTraining()
        try validateEvaluation()
        try validatePaper()
    }

    /// name, seeds, variants.
    private func validateTopLevel() throws {
        guard let first = name.first, first.isASCII && (first.isLetter || first.isNumber),
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw fail(.outOfRange, "name", "'\(name)' is not allowed; allowed: letters, digits, '.', '_', '-' (starting with a letter or digit)")
        }
        guard !seeds.isEmpty else { throw fail(.invalid, "seeds", "must list at least one seed") }
        for (i, s) in seeds.enumerated() {
            try range(s, 0...Int(Int32.max), "seeds[\(i)]")
            if seeds[..<i].contains(s) { throw fail(.invalid, "seeds[\(i)]", "seed \(s) appears twice; seeds must be unique") }
        }
        guard !variants.isEmpty else { throw fail(.invalid, "variants", "must list at least one of sidenet, baseline") }
        for (i, v) in variants.enumerated() where variants[..<i].contains(v) {
            throw fail(.invalid, "variants[\(i)]", "variant \(v.rawValue) appears twice")
        }
    }

    /// data, and whether the MainNet reads what the dataset holds.
    private func validateData() throws {
        guard !data.path.isEmpty else { throw fail(.outOfRange, "data.path", "must not be empty") }
        try range(data.splitSeed, 0...Int(Int32.max), "data.split_seed")
        // BatchNorm (MainNet head, SideNet) needs at least 2 examples per training batch.
        if let t = data.limit.train, t < 2 {
            throw fail(.outOfRange, "data.limit.train", "\(t) is out of range; at least 2 training examples are needed (BatchNorm)")
        }
        if let t = data.limit.test { try range(t, 1...Int.max, "data.limit.test") }
        switch data.dataset {
        case .cifar10:
            try range(data.validation ?? 0, 1...49_998, "data.validation")
            if let t = data.limit.train, let v = data.validation, t - v < 2 {
                throw fail(.outOfRange, "data.limit.train", "\(t) leaves \(max(0, t - v)) training image(s) after data.validation holds out \(v); at least 2 are needed (BatchNorm)")
            }
            try range(data.inputSize ?? 0, 8...512, "data.input_size")
        case .sst2:
            try range(data.maxLength ?? 0, 8...4096, "data.max_length")
        }
        let family = mainnet.arch.family
        let reads: InputKind = data.dataset == .cifar10 ? .images : .text
        guard family.inputKind == reads else {
            throw fail(.invalid, "mainnet.arch", "\(mainnet.arch.rawValue) cannot classify \(family.inputKind == .images ? "text" : "images"); dataset \(data.dataset.rawValue) needs \(MainNetRegistry.archNames(reading: reads).joined(separator: ", "))")
        }
    }

    /// mainnet; returns the inline config completed with the family's defaults (nil for a
    /// config.json path).
    private func validateMainNet() throws -> FamilyConfig? {
        let family = mainnet.arch.family
        guard let config = mainnet.resolvedConfig else {
            throw fail(.missingKey, "mainnet.config", "arch \(mainnet.arch.rawValue) needs an explicit config (\(family.configHint))")
        }
        if family.inputKind == .text {
            guard let v = mainnet.vocab, !v.isEmpty else {
                throw fail(.missingKey, "mainnet.vocab", "text models need a vocab.txt path")
            }
        }
        if let w = mainnet.weights, w.isEmpty { throw fail(.outOfRange, "mainnet.weights", "must be a path or null (random init)") }
        try range(mainnet.head.hidden, 1...4096, "mainnet.head.hidden")
        var inline: FamilyConfig? = nil
        switch config {
        case .path(let p):
            guard !p.isEmpty else { throw fail(.outOfRange, "mainnet.config", "must be a config.json path or inline fields") }
        case .inline(let fields):
            do { inline = try family.canonicalConfig(fields) } catch let e as FamilyConfigError {
                throw e.specError(under: "mainnet.config")
            }
            if let ml = data.maxLength, let most = family.maxInputLength(inline!), ml > most {
                throw fail(.invalid, "data.max_length", "\(ml) exceeds mainnet max_position_embeddings \(most)")
            }
        }
        return inline
    }

    /// sidenet (the attach point against the inline config when there is one).
    private func validateSideNet(_ inline: FamilyConfig?) throws {
        try range(sidenet.hidden, 1...4096, "sidenet.hidden")
        do { _ = try mainnet.arch.family.attachUnit(sidenet.attach, config: inline) } catch let e as ModelError {
            throw fail(.invalid, "sidenet.attach", "\(e)")
        }
    }

    /// training: optimizer, schedule, regime and variants.
    private func validateTraining() throws {
        let o = training.optimizer
        try positive(o.lr, "training.optimizer.lr", max: 1)
        try nonNegative(o.weightDecay, "training.optimizer.weight_decay")
        guard o.betas.count == 2 else { throw fail(.outOfRange, "training.optimizer.betas", "needs 2 values [beta1, beta2], found \(o.betas.count)") }
        try probability(o.betas[0], "training.optimizer.betas[0]")
        try probability(o.betas[1], "training.optimizer.betas[1]")
        try nonNegative(o.eps, "training.optimizer.eps")
        try range(training.epochs, 1...10_000, "training.epochs")
        // BatchNorm1d in the heads needs more than one sample per training batch.
        try range(training.batchSize, 2...65_536, "training.batch_size")
        let p = training.plateau
        guard p.factor > 0 && p.factor < 1 else { throw fail(.outOfRange, "training.plateau.factor", "\(p.factor) is out of range; allowed 0 < factor < 1") }
        try range(p.patience, 0...10_000, "training.plateau.patience")
        try nonNegative(p.threshold, "training.plateau.threshold")
        try range(p.cooldown, 0...10_000, "training.plateau.cooldown")
        try nonNegative(p.minLR, "training.plateau.min_lr")
        try nonNegative(training.alpha, "training.alpha")
        if !training.regime.declaration.trainsMainNet && variants.contains(.baseline) {
            throw fail(.invalid, "training.regime", "regime \(training.regime.rawValue) trains only the SideNet, so the baseline variant would train nothing; use heads or full, or drop baseline from variants")
        }
        if p.monitor == .valLossSide && variants.contains(.baseline) {
            throw fail(.invalid, "training.plateau.monitor", "val_loss_side needs a SideNet but variants include baseline; use val_loss or val_loss_main")
        }
    }

    private func validateEvaluation() throws {
        let e = evaluation.ece
        try range(e.bins, 1...1000, "evaluation.ece.bins")
        guard e.low >= 0 && e.low < e.high && e.high <= 1 else {
            throw fail(.outOfRange, "evaluation.ece", "needs 0 <= low < high <= 1, found low \(e.low), high \(e.high)")
        }
        try range(evaluation.batchSize, 1...65_536, "evaluation.batch_size")
    }

    private func validatePaper() throws {
        if let paper {
            if let f = paper.figure { try range(f, 1...100, "paper.figure") }
            for (path, ms) in [("paper.table2.sidenet", paper.table2?.sidenet), ("paper.table2.baseline", paper.table2?.baseline),
                               ("paper.table1.sidenet_ece", paper.table1?.sidenetECE),
                               ("paper.table1.mainnet_ece", paper.table1?.mainnetECE)] {
                if let ms { try nonNegative(ms.std, path + ".std") }
            }
        }
    }
}

private func fail(_ kind: SpecError.Kind = .outOfRange, _ path: String, _ msg: String) -> SpecError {
    SpecError(kind, keyPath: path, msg)
}

private func range<T: Comparable>(_ v: T, _ r: ClosedRange<T>, _ path: String) throws {
    guard r.contains(v) else { throw fail(.outOfRange, path, "\(v) is out of range; allowed \(r.lowerBound)...\(r.upperBound)") }
}

private func positive(_ v: Double, _ path: String, max: Double) throws {
    guard v > 0 && v <= max else { throw fail(.outOfRange, path, "\(v) is out of range; allowed > 0 and <= \(max)") }
}

private func nonNegative(_ v: Double, _ path: String) throws {
    guard v >= 0 && v.isFinite else { throw fail(.outOfRange, path, "\(v) is out of range; allowed >= 0") }
}

private func probability(_ v: Double, _ path: String) throws {
    guard v >= 0 && v < 1 else { throw fail(.outOfRange, path, "\(v) is out of range; allowed 0 <= x < 1") }
}
