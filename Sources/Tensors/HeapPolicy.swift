import CBLAS

/// glibc's allocator hands blocks above its mmap threshold straight back to the kernel on free,
/// so each new activation of a training step was fresh pages zeroed by the kernel (page faults
/// and clear_page were ~8% of a ResNet50 step). Blocks up to 32 MB (glibc's largest allowed
/// threshold) now come from the heap, and up to 256 MB of free heap top is kept for reuse.
/// Applied once, before the first kernel runs (from `Threads`).
enum HeapPolicy {
    static let applied: Bool = {
        #if os(Linux)
        let a = mallopt(M_MMAP_THRESHOLD, 32 << 20), b = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        return a == 1 && b == 1
        #else
        return false
        #endif
    }()
}
