import CZlib

/// One direction's header compression of a SPDY session: a single zlib stream, primed with SPDY/3's
/// dictionary, that every SYN_STREAM, SYN_REPLY and HEADERS block of that direction continues, each
/// block ended with a sync flush. It is never reset, so each block must pass through it in order,
/// even the blocks of streams that are refused. The z_stream lives at a fixed address: zlib keeps a
/// pointer back to it.
final class SPDYDeflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init() {
        stream.initialize(to: z_stream())
        let status = deflateInit2_(stream, 9, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2: \(status)")
        SPDYDictionary.bytes.withUnsafeBufferPointer { _ = deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count)) }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    func compress(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var input = input
        input.withUnsafeMutableBufferPointer { source in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = UInt32(source.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    _ = deflate(stream, Z_SYNC_FLUSH)
                    output.append(contentsOf: out[0..<(out.count - Int(stream.pointee.avail_out))])
                }
            } while stream.pointee.avail_out == 0
            stream.pointee.next_in = nil
        }
        return output
    }
}

/// The receiving half: inflates each block with the peer's dictionary (zlib asks for it on the
/// first block). A corrupt stream is an error of the whole session, whose later blocks could not be
/// trusted; the output of one block is capped against zlib bombs.
final class SPDYInflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var failed = false

    init() {
        stream.initialize(to: z_stream())
        let status = inflateInit_(stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "inflateInit: \(status)")
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func decompress(_ input: [UInt8], limit: Int) throws(SPDYError) -> [UInt8] {
        guard !failed else { throw .compression("the header stream failed before") }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var input = input
        let result: SPDYError? = input.withUnsafeMutableBufferPointer { source in
            stream.pointee.next_in = source.baseAddress
            stream.pointee.avail_in = UInt32(source.count)
            defer { stream.pointee.next_in = nil }
            while true {
                var status: Int32 = Z_OK
                var produced = 0
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    status = inflate(stream, Z_SYNC_FLUSH)
                    produced = out.count - Int(stream.pointee.avail_out)
                    output.append(contentsOf: out[0..<produced])
                }
                if status == Z_NEED_DICT {
                    let set = SPDYDictionary.bytes.withUnsafeBufferPointer { inflateSetDictionary(stream, $0.baseAddress, UInt32($0.count)) }
                    guard set == Z_OK else { return .compression("the peer's dictionary is not SPDY/3's") }
                    continue
                }
                if output.count > limit { return .tooLarge("a header block inflates beyond \(limit) bytes") }
                switch status {
                case Z_OK where stream.pointee.avail_in > 0 || produced == chunk.count: continue
                case Z_OK, Z_BUF_ERROR:
                    // Every byte of the frame's block must have been used.
                    return stream.pointee.avail_in == 0 ? nil : .compression("trailing bytes after a header block")
                case Z_STREAM_END: return .compression("the header stream ended")
                default: return .compression("zlib status \(status)")
                }
            }
        }
        if let result {
            failed = true
            throw result
        }
        return output
    }
}
