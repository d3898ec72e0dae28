/// Semantic checks. Each failure is a `SpecError` with the key path of the offending field;
/// `ExperimentSpec.load` adds the file name and line.
extension ExperimentSpec {
    public func validate() throws {
        func fail(_ kind: SpecError.Kind = .outOfRange, _ path: String, _ msg: String) -> SpecError {
            SpecError(kind, keyPath: path, msg)
        }
        func range<T: Comparable>(_ v: T, _ r: ClosedRange<T>, _ path: String) throws {
            guard r.contains(v) else { throw fail(.outOfRange, path, "\(v) is out of range; allowed \(r.lowerBound)...\(r.upperBound)") }
        }
        func positive(_ v: Double, _ path: String, max: Double) throws {
            guard v > 0 && v <= max else { throw fail(.outOfRange, path, "\(v) is out of range; allowed > 0 and <= \(max)") }
        }
        func nonNegative(_ v: Double, _ path: String) throws {
            guard v >= 0 && v.isFinite else { throw fail(.outOfRange, path, "\(v) is out of range; allowed >= 0") }
        }
        func probability(_ v: Double, _ path: String) throws {
            guard v >= 0 && v < 1 else { throw fail(.outOfRange, path, "\(v) is out of range; allowed 0 <= x < 1") }
        }

        // top level
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

        // data
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
            guard mainnet.arch.family == .resnet else {
                throw fail(.invalid, "mainnet.arch", "\(mainnet.arch.rawValue) cannot classify images; dataset cifar10 needs resnet18, resnet34, resnet50, resnet101, resnet152 or resnet")
            }
        case .sst2:
            try range(data.maxLength ?? 0, 8...4096, "data.max_length")
            guard mainnet.arch.family != .resnet else {
                throw fail(.invalid, "mainnet.arch", "\(mainnet.arch.rawValue) cannot classify text; dataset sst2 needs bert-base, bert-large, bert or distilbert")
            }
        }

        // mainnet
        guard let config = mainnet.resolvedConfig else {
            throw fail(.missingKey, "mainnet.config", "arch \(mainnet.arch.rawValue) needs an explicit config (\(mainnet.arch.family == .resnet ? "{blocks, width, block}" : "a config.json path or inline fields"))")
        }
        if mainnet.arch.family != .resnet {
            guard let v = mainnet.vocab, !v.isEmpty else {
                throw fail(.missingKey, "mainnet.vocab", "text models need a vocab.txt path")
            }
        }
        if let w = mainnet.weights, w.isEmpty { throw fail(.outOfRange, "mainnet.weights", "must be a path or null (random init)") }
        try range(mainnet.head.hidden, 1...4096, "mainnet.head.hidden")
        switch config {
        case .path(let p):
            guard !p.isEmpty else { throw fail(.outOfRange, "mainnet.config", "must be a config.json path or inline fields") }
        case .resnet(let r):
            guard r.blocks.count == 4 else {
                throw fail(.outOfRange, "mainnet.config.blocks", "needs 4 stage block counts, found \(r.blocks.count)")
            }
            for (i, b) in r.blocks.enumerated() { try range(b, 1...64, "mainnet.config.blocks[\(i)]") }
            try range(r.width, 1...1024, "mainnet.config.width")
        case .bert(let b):
            try range(b.hiddenSize, 1...8192, "mainnet.config.hidden_size")
            try range(b.numHiddenLayers, 1...96, "mainnet.config.num_hidden_layers")
            try range(b.numAttentionHeads, 1...b.hiddenSize, "mainnet.config.num_attention_heads")
            guard b.hiddenSize % b.numAttentionHeads == 0 else {
                throw fail(.invalid, "mainnet.config.num_attention_heads", "\(b.numAttentionHeads) does not divide hidden_size \(b.hiddenSize)")
            }
            try range(b.intermediateSize, 1...65536, "mainnet.config.intermediate_size")
            try range(b.maxPositionEmbeddings, 2...65536, "mainnet.config.max_position_embeddings")
            if let v = b.vocabSize { try range(v, 5...10_000_000, "mainnet.config.vocab_size") }
            try range(b.typeVocabSize, 1...16, "mainnet.config.type_vocab_size")
            try probability(b.hiddenDropoutProb, "mainnet.config.hidden_dropout_prob")
            try probability(b.attentionProbsDropoutProb, "mainnet.config.attention_probs_dropout_prob")
            try positive(b.layerNormEps, "mainnet.config.layer_norm_eps", max: 0.1)
            if let ml = data.maxLength, ml > b.maxPositionEmbeddings {
                throw fail(.invalid, "data.max_length", "\(ml) exceeds mainnet max_position_embeddings \(b.maxPositionEmbeddings)")
            }
        case .distilbert(let d):
            try range(d.dim, 1...8192, "mainnet.config.dim")
            try range(d.nLayers, 1...96, "mainnet.config.n_layers")
            try range(d.nHeads, 1...d.dim, "mainnet.config.n_heads")
            guard d.dim % d.nHeads == 0 else {
                throw fail(.invalid, "mainnet.config.n_heads", "\(d.nHeads) does not divide dim \(d.dim)")
            }
            try range(d.hiddenDim, 1...65536, "mainnet.config.hidden_dim")
            try range(d.maxPositionEmbeddings, 2...65536, "mainnet.config.max_position_embeddings")
            if let v = d.vocabSize { try range(v, 5...10_000_000, "mainnet.config.vocab_size") }
            try probability(d.dropout, "mainnet.config.dropout")
            try probability(d.attentionDropout, "mainnet.config.attention_dropout")
            if let ml = data.maxLength, ml > d.maxPositionEmbeddings {
                throw fail(.invalid, "data.max_length", "\(ml) exceeds mainnet max_position_embeddings \(d.maxPositionEmbeddings)")
            }
        }

        // sidenet
        try range(sidenet.hidden, 1...4096, "sidenet.hidden")
        if let msg = AttachPoint.check(sidenet.attach, family: mainnet.arch.family, config: config) {
            throw fail(.invalid, "sidenet.attach", msg)
        }

        // training
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

        // evaluation
        let e = evaluation.ece
        try range(e.bins, 1...1000, "evaluation.ece.bins")
        guard e.low >= 0 && e.low < e.high && e.high <= 1 else {
            throw fail(.outOfRange, "evaluation.ece", "needs 0 <= low < high <= 1, found low \(e.low), high \(e.high)")
        }
        try range(evaluation.batchSize, 1...65_536, "evaluation.batch_size")

        // paper
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

/// Attach-point grammar per architecture family (0-based PyTorch module names).
public enum AttachPoint {
    /// nil if `attach` is valid for the family (and, when known, the config); else why not.
    public static func check(_ attach: String, family: ArchName.Family, config: ModelConfig?) -> String? {
        let parts = attach.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch family {
        case .resnet:
            let allowed = "allowed for a ResNet: layer1, layer2, layer3, layer4 (after a stage) or layerS.B (after block B of stage S, 0-based)"
            guard (1...2).contains(parts.count), parts[0].hasPrefix("layer"),
                  let stage = Int(parts[0].dropFirst(5)), (1...4).contains(stage), parts[0] == "layer\(stage)" else {
                return "'\(attach)' is not a ResNet attach point; \(allowed)"
            }
            if parts.count == 2 {
                guard let b = Int(parts[1]), b >= 0, parts[1] == "\(b)" else {
                    return "'\(attach)' is not a ResNet attach point; \(allowed)"
                }
                if case .resnet(let r)? = config, r.blocks.count == 4, b >= r.blocks[stage - 1] {
                    return "'\(attach)': stage \(stage) has \(r.blocks[stage - 1]) blocks (0...\(r.blocks[stage - 1] - 1))"
                }
            }
            return nil
        case .bert, .distilbert:
            let prefix = family == .bert ? "encoder.layer" : "transformer.layer"
            let layers = config?.transformerLayers
            let allowed = "allowed: \(prefix).N with N in 0...\(layers.map { "\($0 - 1)" } ?? "layers-1") (0-based block index)"
            guard parts.count == 3, parts[0] + "." + parts[1] == prefix, let n = Int(parts[2]), n >= 0,
                  parts[2] == "\(n)" else {
                return "'\(attach)' is not a \(family.rawValue) attach point; \(allowed)"
            }
            if let layers, n >= layers {
                return "'\(attach)': the model has \(layers) layers; \(allowed)"
            }
            return nil
        }
    }
}
