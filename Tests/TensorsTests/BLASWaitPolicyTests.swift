import XCTest
import Foundation
import Tensors

/// OpenBLAS's idle workers spin 2^`BLASWaitPolicy.spinLog2` cycles before sleeping (not its default
/// 2^28): OpenBLAS itself reports the new timeout after its threads restart, and multi-threaded
/// GEMMs still give the reference product afterwards.
final class BLASWaitPolicyTests: XCTestCase {
    /// The environment the process started with (setenv does not change /proc/self/environ).
    func startedWith(_ name: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/self/environ") else { return false }
        return data.split(separator: 0).contains { $0.starts(with: Array("\(name)=".utf8)) }
    }

    func testOpenBLASThreadTimeoutShortened() throws {
        #if os(Linux)
        _ = Threads.count   // applies the policy
        try XCTSkipIf(startedWith("OPENBLAS_THREAD_TIMEOUT"), "the user's OPENBLAS_THREAD_TIMEOUT is left alone")
        XCTAssertTrue(BLASWaitPolicy.applied)
        let handle = try XCTUnwrap(dlopen(nil, RTLD_NOW))
        let timeout = try XCTUnwrap(dlsym(handle, "openblas_thread_timeout"), "OpenBLAS exports openblas_thread_timeout")
        let value = unsafeBitCast(timeout, to: (@convention(c) () -> Int32).self)()
        XCTAssertEqual(Int(value), BLASWaitPolicy.spinLog2, "the timeout OpenBLAS read from its environment")
        #endif
    }

    func testGemmAfterRestartEqualsReference() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(2)
        var rng = SeededGenerator(seed: 3)
        let (m, n, k) = (96, 130, 70)
        let a = Tensor.normal([m, k], rng: &rng).data, b = Tensor.normal([k, n], rng: &rng).data
        var ref = [Float](repeating: 0, count: m * n), c = ref
        referenceGemm(m: m, n: n, k: k, a: a, b: b, c: &ref)
        for _ in 0..<3 {   // workers asleep between calls are woken each time
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                sgemm(m: m, n: n, k: k, a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!)
            } } }
            usleep(20_000)
            let err = zip(c, ref).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(err, 1e-3)
        }
    }
}
