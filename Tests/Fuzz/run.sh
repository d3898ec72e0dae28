#!/usr/bin/env bash
# Coverage-guided fuzzing of every sidenet parser with libFuzzer (swiftc -sanitize=fuzzer,address).
#
#   Tests/Fuzz/run.sh [RUNS] [TARGET...]      e.g. Tests/Fuzz/run.sh 1000000 pickle spec
#
# Builds the FuzzTargets module and its dependencies instrumented (build folder .build-fuzz), links
# one libFuzzer binary per target (Sources/FuzzTargets: safetensors zip pickle torch spec cifar sst
# vocab), and runs each for RUNS executions (default 1,000,000) starting from a copy of the seed
# corpus Tests/Fuzz/corpus/<target> (new inputs go to .build-fuzz/corpus, not into git). A crash, a
# sanitizer report, or an error of an undeclared type stops the target and leaves a crash-* file
# in .build-fuzz/artifacts/. Prints one summary line per target: executions, crashes.
# FUZZ_MAX_TIME=SECONDS stops each target earlier; FUZZ_SANITIZERS=fuzzer drops AddressSanitizer.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-1000000}
shift || true
TARGETS=${*:-safetensors zip pickle torch spec cifar sst vocab}
BUILD=.build-fuzz
SAN=${FUZZ_SANITIZERS:-fuzzer,address}

swift build -c release --build-path "$BUILD" --target FuzzTargets \
    -Xswiftc "-sanitize=$SAN" -Xcc "-fsanitize=${SAN/fuzzer/fuzzer-no-link}" 2>&1 | tail -3
REL="$BUILD/release"
OBJS=$(find "$REL/" -path '*/FuzzTargets.build/*.o' -o -path '*/WeightIO.build/*.o' -o -path '*/Tensors.build/*.o' \
            -o -path '*/Datasets.build/*.o' -o -path '*/Tokenizer.build/*.o' -o -path '*/Specs.build/*.o' \
            -o -path '*/Yams.build/*.o' -o -path '*/CYaml.build/*.o' | sort)
mkdir -p "$BUILD/fuzz" "$BUILD/artifacts" "$BUILD/corpus"

status=0
for t in $TARGETS; do
    main="$BUILD/fuzz/main_$t.swift"
    cat > "$main" <<SWIFT
import FuzzTargets
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = count == 0 || bytes == nil ? Data() : Data(bytes: bytes!, count: count)
    if case .untyped(let message) = FuzzTarget.$t.run(data) { fatalError("untyped error: \(message)") }
    return 0
}
SWIFT
    swiftc -O -parse-as-library "-sanitize=$SAN" -I "$REL/Modules" -I "$REL" -I Sources/CBLAS \
        -I "$BUILD/checkouts/Yams/Sources/CYaml/include" \
        "$main" $OBJS -lopenblas -o "$BUILD/fuzz/fuzz-$t" 2> "$BUILD/fuzz/link-$t.log" \
        || { cat "$BUILD/fuzz/link-$t.log"; exit 1; }  # (ld.gold warns about local ASan symbols)
    mkdir -p "$BUILD/corpus/$t"
    cp -n Tests/Fuzz/corpus/$t/* "$BUILD/corpus/$t/" 2>/dev/null || true
    log="$BUILD/fuzz/$t.log"
    # Inputs up to 8 KB; vocab.txt/tokenizer inputs up to 2 KB (text: each execution tokenizes its
    # input twice, so longer inputs mostly repeat the same paths at a fraction of the speed).
    max_len=8192; [ "$t" = vocab ] && max_len=2048
    if "$BUILD/fuzz/fuzz-$t" -runs="$RUNS" -max_total_time="${FUZZ_MAX_TIME:-0}" -max_len=$max_len -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
          -artifact_prefix="$BUILD/artifacts/$t-" "$BUILD/corpus/$t" > "$log" 2>&1; then
        crashes=0
    else
        crashes=1; status=1
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    echo "fuzz $t: $execs executions, $crashes crashes, coverage $cov edges (log $log)"
done
exit $status
