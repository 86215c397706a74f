/// Removes EXIF and XMP chunks from a WebP file. libvips 8.14 (Debian 12's) writes a minimal
/// EXIF chunk into WebP even when asked to strip metadata; what Courier serves carries none.
enum WebPMetadata {
    static func stripped(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 12, Array(bytes[0..<4]) == Array("RIFF".utf8), Array(bytes[8..<12]) == Array("WEBP".utf8) else { return bytes }
        var chunks: [UInt8] = []
        var index = 12
        while index + 8 <= bytes.count {
            let fourCC = String(decoding: bytes[index..<(index + 4)], as: UTF8.self)
            let size = Int(bytes[index + 4]) | Int(bytes[index + 5]) << 8 | Int(bytes[index + 6]) << 16 | Int(bytes[index + 7]) << 24
            let end = min(bytes.count, index + 8 + size + (size & 1))
            if fourCC != "EXIF", fourCC != "XMP " {
                var chunk = Array(bytes[index..<end])
                // VP8X announces which metadata follow: clear the EXIF (0x08) and XMP (0x04) flags.
                if fourCC == "VP8X", chunk.count > 8 { chunk[8] &= ~UInt8(0x0C) }
                chunks += chunk
            }
            index = end
        }
        let size = UInt32(4 + chunks.count)
        return Array("RIFF".utf8) + withUnsafeBytes(of: size.littleEndian, Array.init) + Array("WEBP".utf8) + chunks
    }
}
