/// Bytes received and not yet decoded: appended at the end, consumed from the front by offset,
/// and compacted once the consumed part is half the array (no copy per frame). Offsets are from
/// the first unconsumed byte.
struct ByteQueue {
    private var bytes: [UInt8] = []
    private var start = 0

    var count: Int { bytes.count - start }

    mutating func append(_ more: some Sequence<UInt8>) {
        if start > 0, start >= bytes.count / 2 {
            bytes.removeFirst(start)
            start = 0
        }
        bytes.append(contentsOf: more)
    }

    subscript(offset: Int) -> UInt8 { bytes[start + offset] }

    func slice(_ range: Range<Int>) -> ArraySlice<UInt8> { bytes[(start + range.lowerBound)..<(start + range.upperBound)] }

    mutating func consume(_ count: Int) { start += count }
}
