// swift-tools-version:6.0
// sidenet: reproduce "Add a SideNet to your MainNet" (Morisot) on a CPU.
// Layering (imports go downward only):
//   CBLAS <- Tensors <- Layers <- Models <- Runner <- sidenet (CLI); Report reads Store only.
//   CBLAS <- Tensors; Tensors <- Optim; WeightIO (bytes -> tensors) <- Models;
//   Tokenizer, Datasets <- Runner; Specs <- Runner; Store <- Runner, Report; sidenet (CLI) on top.
//   Report never sees a spec: the Runner writes what the report needs into the Store.
import PackageDescription

let package = Package(
    name: "sidenet",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sidenet", targets: ["sidenet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // OpenBLAS cblas through a system-library target (Debian: libopenblas-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // Float32 tensors, seeded RNG, threads, sgemm wrapper, parameters.
        .target(name: "Tensors", dependencies: ["CBLAS"]),
        // Layers with forward and backward (one layer, one file).
        .target(name: "Layers", dependencies: ["Tensors"]),
        // Adam and ReduceLROnPlateau with PyTorch semantics.
        .target(name: "Optim", dependencies: ["Tensors"]),
        // safetensors, PyTorch zip/legacy pickle files.
        .target(name: "WeightIO", dependencies: ["Tensors"]),
        // ResNet, BERT, DistilBERT, heads, SideNets, early exit, compute accounting.
        .target(name: "Models", dependencies: ["Tensors", "Layers", "WeightIO"]),
        // WordPiece tokenizer identical to HF BertTokenizer (uncased).
        .target(name: "Tokenizer"),
        // CIFAR-10 and SST readers, splits, resize, generated stand-in data.
        .target(name: "Datasets", dependencies: ["Tensors", "Tokenizer"]),
        // Declarative YAML experiment specs.
        .target(name: "Specs", dependencies: [.product(name: "Yams", package: "Yams")]),
        // SQLite store (GRDB): experiments, runs, epochs, predictions, checkpoints.
        .target(name: "Store", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // Trains and evaluates specs, writes the store.
        .target(name: "Runner", dependencies: ["Tensors", "Layers", "Optim", "WeightIO", "Models",
                                               "Datasets", "Tokenizer", "Specs", "Store"]),
        // Threshold sweeps, ECE, tables, gnuplot figures. Reads the store only (experiment_info
        // rows the runner wrote, runs, predictions, timings); the pure report functions take
        // plain input structs.
        .target(name: "Report", dependencies: ["Store"]),
        // One fuzz entry point per parser (bytes -> value or typed error), shared by the libFuzzer
        // binaries of Tests/Fuzz/run.sh and the CI smoke test.
        .target(name: "FuzzTargets", dependencies: ["WeightIO", "Datasets", "Tokenizer", "Specs"]),
        .executableTarget(name: "sidenet", dependencies: [
            "Tensors", "Layers", "Optim", "WeightIO", "Models", "Datasets", "Tokenizer",
            "Specs", "Store", "Runner", "Report",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Tensors", "WeightIO"]),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "Layers", "Tensors", "WeightIO"]),
        .testTarget(name: "WeightIOTests", dependencies: ["WeightIO", "Tensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Layers", "Tensors", "WeightIO"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tensors", "Tokenizer", "WeightIO"]),
        .testTarget(name: "SpecsTests", dependencies: ["Specs"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "Specs", "Store", "Report"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Store", "Specs",
                                                       .product(name: "GRDB", package: "GRDB.swift")]),
        // Seeded mutations of Tests/Fuzz/corpus through every parser: typed errors only, no crash.
        .testTarget(name: "FuzzSmokeTests", dependencies: ["FuzzTargets"]),
        // Runs the built `sidenet` executable end to end as a subprocess.
        .testTarget(name: "CLITests", dependencies: ["sidenet"]),
    ],
    swiftLanguageModes: [.v5]
)
