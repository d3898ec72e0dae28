// swift-tools-version:6.0
// sidenet: reproduce "Add a SideNet to your MainNet" (Morisot) on a CPU.
// Layering (imports go downward only):
//   CBLAS <- Tensors <- Layers <- Models <- Specs <- Runner <- sidenet (CLI); Report reads Store only.
//   CBLAS <- Tensors; Tensors <- Optim; CHeadKernels (C) <- Optim, Runner; WeightIO (bytes -> tensors) <- Models;
//   Tokenizer, Datasets <- Runner; Store <- Runner, Report; sidenet (CLI) on top.
//   Models holds the MainNet-family registry (Models/Registry): Specs asks it which archs,
//   configs and attach points exist, the Runner and the CLI ask it to build and to count.
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
        // C kernels (AVX2+FMA+F16C when present, else portable C) for heads on cached feature
        // rows and Adam's element loop.
        .target(name: "CHeadKernels"),
        // Float32 tensors, seeded RNG, threads, sgemm wrapper, parameters.
        .target(name: "Tensors", dependencies: ["CBLAS"]),
        // Layers with forward and backward (one layer, one file).
        .target(name: "Layers", dependencies: ["Tensors"]),
        // Adam and ReduceLROnPlateau with PyTorch semantics.
        .target(name: "Optim", dependencies: ["Tensors", "CHeadKernels"]),
        // safetensors, PyTorch zip/legacy pickle files.
        .target(name: "WeightIO", dependencies: ["Tensors"]),
        // MainNet families (one folder each: ResNet, BERT, DistilBERT, ...) and their registry,
        // heads, the generic SideNet model, early exit, compute accounting, strict loading.
        .target(name: "Models", dependencies: ["Tensors", "Layers", "WeightIO"]),
        // WordPiece tokenizer identical to HF BertTokenizer (uncased).
        .target(name: "Tokenizer"),
        // CIFAR-10 and SST readers, splits, resize, generated stand-in data.
        .target(name: "Datasets", dependencies: ["Tensors", "Tokenizer"]),
        // Declarative YAML experiment specs.
        .target(name: "Specs", dependencies: ["Models", .product(name: "Yams", package: "Yams")]),
        // SQLite store (GRDB): experiments, runs, epochs, predictions, checkpoints.
        .target(name: "Store", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // Trains and evaluates specs, writes the store.
        .target(name: "Runner", dependencies: ["Tensors", "Layers", "Optim", "WeightIO", "Models",
                                               "Datasets", "Tokenizer", "Specs", "Store", "CHeadKernels"]),
        // Threshold sweeps, ECE, tables, gnuplot figures. Reads the store only (experiment_info
        // rows the runner wrote, runs, predictions, timings); the pure report functions take
        // plain input structs.
        .target(name: "Report", dependencies: ["Store"]),
        // One fuzz entry point per parser (bytes -> value or typed error), shared by the libFuzzer
        // binaries of Tests/Fuzz/run.sh and the CI smoke test.
        .target(name: "FuzzTargets", dependencies: ["WeightIO", "Datasets", "Tokenizer", "Specs"]),
        .executableTarget(name: "sidenet", dependencies: [
            "Tensors", "Layers", "Optim", "WeightIO", "Models", "Datasets", "Tokenizer",
            "Specs", "Store", "Runner", "Report", "CHeadKernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "CHeadKernelsTests", dependencies: ["CHeadKernels"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Tensors", "WeightIO"]),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "Layers", "Tensors", "WeightIO", "CHeadKernels"]),
        .testTarget(name: "WeightIOTests", dependencies: ["WeightIO", "Tensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Layers", "Tensors", "WeightIO"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tensors", "Tokenizer", "WeightIO"]),
        .testTarget(name: "SpecsTests", dependencies: ["Specs", "Models"]),
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
