import CShims

/// How the long-running daemon's allocator hands memory back.
public enum MallocPolicy {
    /// Fixes glibc's mmap threshold. By default, freeing a large mmapped block (a 14 MB request
    /// message, say) raises the threshold to that block's size, so later blocks of that size come
    /// from the heap and stay resident after they are freed: skiffd's RSS grew from 41 to 65 MiB
    /// over a robustness run and stayed there. A fixed threshold turns the adjustment off; blocks
    /// above it are mapped and unmapped each time (the same run then ended at 47 MiB).
    public static func returnLargeBlocks(above bytes: Int32 = 128 * 1024) {
        _ = cs_malloc_mmap_threshold(bytes)
    }
}
