import CBLAS  // glibc's malloc.h (malloc_trim, mallinfo2)

/// Gives the free heap pages back to the kernel after a feature batch, only when the heap grew
/// past its size after every earlier batch. Text batches come in growing lengths, so each batch's
/// buffers outgrow the holes the previous one freed and the heap grows: those are trimmed (the
/// text encoders' eval pass keeps no caches, so this is the batch's temporaries: BERT-large peaks
/// at ~1.35 GB in all). Image batches all have one shape and reuse the same heap blocks: trimming
/// them after every batch only made the next batch fault its pages in again (and the kernel zero
/// them: ~10% of a ResNet50 cache build's CPU time).
struct FeatureBatchHeap {
    private var largest = 0

    mutating func afterBatch() {
        #if os(Linux)
        let m = mallinfo2()
        let size = Int(m.arena) + Int(m.hblkhd)   // heap (every arena) + mmapped blocks, in bytes
        if size > largest {
            largest = size
            _ = malloc_trim(0)
        }
        #endif
    }

    /// After the last batch: the pass's free heap goes back (the heads train next).
    func finish() {
        #if os(Linux)
        _ = malloc_trim(0)
        #endif
    }
}
