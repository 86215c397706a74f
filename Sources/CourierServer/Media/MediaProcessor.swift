import CourierCore
import CourierStore
import Foundation
import NIOPosix

/// Turns an uploaded file into what clients show: photo sizes, a poster, a waveform, a preview.
/// The work is done by libvips and ffmpeg as child processes, on a plaintext copy in a private
/// temporary folder that is removed when the job ends, at most `slots` jobs at a time, each
/// within a time limit.
struct MediaProcessor: Sendable {
    /// One file a job made, to be encrypted and stored as a variant (read a chunk at a time: a
    /// video's 720p variant may be large).
    struct Output: Sendable {
        let variant: MediaVariant
        let file: URL
    }

    /// What processing found and made.
    struct Result: Sendable {
        var width: Int?
        var height: Int?
        var duration: Double?
        var waveform: [UInt8]?
        var preview: String?
        var outputs: [Output] = []
        /// Whether the uploaded bytes themselves are kept (a photo is replaced by its re-encoded
        /// sizes, which drops its EXIF data, GPS position included).
        var keepsOriginal = true
        /// Work left for later (a video's 720p variant).
        var pendingWork: String?
    }

    /// The file is not something this kind can be made from (422).
    struct Unprocessable: Error {
        let reason: String
    }

    let settings: MediaSettings
    /// Jobs a person waits for (a photo's sizes, a poster, a waveform).
    let slots: ProcessingSlots
    /// Work in the background (720p transcoding): one at a time, and never in the way of the above.
    let backgroundSlots = ProcessingSlots(count: 1)

    init(settings: MediaSettings) {
        self.settings = settings
        self.slots = ProcessingSlots(count: settings.processingSlots)
    }

    /// The containers ffmpeg may open an upload as. Anything else (an HLS or concat playlist, an
    /// image sequence) could make it read other files of the server's, so it is not demuxed at all.
    static let formatWhitelist = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,ogg,mp3,wav,flac,aac,avi,mpegts,asf,flv"

    /// Runs blocking file work (a voice note's samples are megabytes) on `FileThreads`: `courier
    /// serve` runs tasks on NIO's event loops, where a read would hold up every socket of that loop.
    private func onFileThreads<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await FileThreads.shared.runIfActive(work)
    }

    private func tool(_ executable: String, _ arguments: [String], in folder: URL, limit: Duration? = nil) -> ExternalCommand {
        ExternalCommand(executable: executable, arguments: arguments, timeLimit: limit ?? settings.jobTimeLimit, folder: folder)
    }

    /// Photo sizes as Telegram's boxes, the largest first (each smaller one is made from it).
    static let photoBoxes: [(name: String, box: Int)] = [("x1280", 1280), ("m800", 800), ("s320", 320), ("s100", 100)]

    /// Processes the plaintext file at `input` as `kind`.
    func process(_ input: URL, kind: MediaKind, in folder: URL) async throws -> Result {
        switch kind {
        case .photo: try await slots.run { try await photo(input, in: folder) }
        case .video: try await slots.run { try await video(input, in: folder) }
        case .voice: try await slots.run { try await voice(input, in: folder) }
        case .file: Result()
        }
    }

    // MARK: Photos

    private func photo(_ input: URL, in folder: URL) async throws -> Result {
        // Only the common photo formats reach libvips: its other loaders (SVG, PDF, …) are not a
        // surface to expose to anyone who can upload.
        guard let format = Self.photoFormat(of: input) else { throw Unprocessable(reason: "a photo must be JPEG, PNG, GIF or WebP") }
        var sides: [Int] = []
        for field in ["width", "height"] {
            let printed = try await tool("vipsheader", ["-f", field, input.path], in: folder).run()
            if let side = Int(String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) { sides.append(side) }
        }
        guard sides.count == 2, sides[0] > 0, sides[1] > 0 else { throw Unprocessable(reason: "the \(format) image could not be read") }
        guard sides[0] * sides[1] <= settings.maxPixels else {
            throw Unprocessable(reason: "the image has \(sides[0])×\(sides[1]) pixels; at most \(settings.maxPixels / 1_000_000) megapixels are accepted")
        }
        var result = Result(keepsOriginal: false)
        var source = input
        for (name, box) in Self.photoBoxes {
            let target = folder.appendingPathComponent("\(name).jpg")
            try await thumbnail(source, to: target.path + "[Q=85,strip]", box: box, in: folder)
            let (bytes, size) = try await onFileThreads { try Self.jpegFacts(target) }
            result.outputs.append(Output(variant: MediaVariant(name: name, mimeType: "image/jpeg", size: bytes, width: size?.width, height: size?.height), file: target))
            if name == "x1280" {
                (result.width, result.height) = (size?.width, size?.height)
                source = target
            }
        }
        for (name, type, suffix) in [("thumb", "image/jpeg", "jpg"), ("thumb_webp", "image/webp", "webp")] {
            let target = folder.appendingPathComponent("\(name).\(suffix)")
            try await thumbnail(source, to: target.path + "[Q=85,strip]", box: 200, crop: true, in: folder)
            let bytes = try await onFileThreads {
                let made = try [UInt8](Data(contentsOf: target))
                let bytes = suffix == "webp" ? WebPMetadata.stripped(made) : made
                try Data(bytes).write(to: target)
                return bytes
            }
            result.outputs.append(Output(variant: MediaVariant(name: name, mimeType: type, size: Int64(bytes.count), width: 200, height: 200), file: target))
        }
        result.preview = try await preview(of: source, in: folder)
        return result
    }

    /// The tiny blurred-before-loading image: about 20 pixels across, a few hundred bytes.
    private func preview(of image: URL, in folder: URL) async throws -> String {
        let target = folder.appendingPathComponent("preview.jpg")
        try await thumbnail(image, to: target.path + "[Q=30,strip]", box: 20, in: folder)
        return "data:image/jpeg;base64," + (try await onFileThreads { try Data(contentsOf: target) }).base64EncodedString()
    }

    private func thumbnail(_ input: URL, to target: String, box: Int, crop: Bool = false, in folder: URL) async throws {
        var arguments = ["thumbnail", input.path, target, String(box), "--height", String(box), "--size", "down"]
        if crop { arguments += ["--crop", "centre"] }
        try await tool("vips", arguments, in: folder).run()
    }

    /// A JPEG's size in bytes and its pixel size (from its header, the first 64 KiB).
    static func jpegFacts(_ file: URL) throws -> (Int64, (width: Int, height: Int)?) {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        let head = [UInt8]((try handle.read(upToCount: 64 * 1024)) ?? Data())
        let size = try handle.seekToEnd()
        return (Int64(size), ImageSize.jpeg(head))
    }

    static func photoFormat(of file: URL) -> String? {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return nil }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 12)) ?? Data())
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "JPEG" }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "PNG" }
        if head.starts(with: Array("GIF8".utf8)) { return "GIF" }
        if head.count == 12, head.starts(with: Array("RIFF".utf8)), Array(head[8..<12]) == Array("WEBP".utf8) { return "WebP" }
        return nil
    }

    // MARK: Videos and voice notes

    /// What ffprobe says of a file's first video or audio stream and its duration.
    private func probe(_ input: URL, stream: String, in folder: URL) async throws -> (width: Int?, height: Int?, duration: Double?, format: String) {
        let output = try await tool("ffprobe", [
            "-v", "error", "-format_whitelist", Self.formatWhitelist, "-select_streams", "\(stream):0",
            "-show_entries", "stream=width,height,duration:format=duration,format_name", "-of", "json", input.path,
        ], in: folder).run()
        struct Probe: Decodable {
            struct Stream: Decodable { let width: Int?; let height: Int?; let duration: String? }
            struct Format: Decodable {
                let duration: String?
                let formatName: String?
                enum CodingKeys: String, CodingKey {
                    case duration
                    case formatName = "format_name"
                }
            }
            let streams: [Stream]?
            let format: Format?
        }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: output), let first = probe.streams?.first else {
            throw Unprocessable(reason: stream == "v" ? "the file has no video" : "the file has no audio")
        }
        let duration = (first.duration ?? probe.format?.duration).flatMap(Double.init)
        return (first.width, first.height, duration, probe.format?.formatName ?? "")
    }

    private func video(_ input: URL, in folder: URL) async throws -> Result {
        let probed: (width: Int?, height: Int?, duration: Double?, format: String)
        do { probed = try await probe(input, stream: "v", in: folder) } catch let failure as ExternalCommand.Failure where !failure.isMissingTool {
            throw Unprocessable(reason: "the video could not be read (\(failure.tool))")
        }
        var result = Result(width: probed.width, height: probed.height, duration: probed.duration)
        // A phone's MP4 or MOV carries where it was filmed (and when, and on what): the file kept is
        // a copy of its streams without that metadata, as a photo's EXIF is dropped.
        if probed.format.split(separator: ",").contains("mp4") {
            let clean = folder.appendingPathComponent("clean.mp4")
            try await tool("ffmpeg", [
                "-nostdin", "-v", "error", "-format_whitelist", Self.formatWhitelist, "-i", input.path, "-map", "0:v", "-map", "0:a?",
                "-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4", "-y", clean.path,
            ], in: folder).run()
            let size = try FileManager.default.attributesOfItem(atPath: clean.path)[.size] as? Int ?? 0
            result.outputs.append(Output(
                variant: MediaVariant(name: MediaVariant.original, mimeType: "video/mp4", size: Int64(size), width: probed.width, height: probed.height),
                file: clean
            ))
            result.keepsOriginal = false
        }
        let frame = folder.appendingPathComponent("frame.jpg")
        let at = min(1.0, (probed.duration ?? 0) / 2)
        try await tool("ffmpeg", [
            "-nostdin", "-v", "error", "-format_whitelist", Self.formatWhitelist, "-ss", String(format: "%.2f", at), "-i", input.path,
            "-frames:v", "1", "-q:v", "3", "-y", frame.path,
        ], in: folder).run()
        let poster = folder.appendingPathComponent("poster.jpg")
        try await thumbnail(frame, to: poster.path + "[Q=85,strip]", box: 1280, in: folder)
        let (bytes, size) = try await onFileThreads { try Self.jpegFacts(poster) }
        result.outputs.append(Output(variant: MediaVariant(name: "poster", mimeType: "image/jpeg", size: bytes, width: size?.width, height: size?.height), file: poster))
        result.preview = try await preview(of: poster, in: folder)
        if let height = probed.height, let width = probed.width, min(width, height) > 720 {
            result.pendingWork = "720p"
        }
        return result
    }

    /// Makes a video's 720p variant (background work: it may take a while). Frames pass through as
    /// they are timed: a file that claims hours between two frames is not filled with copies.
    func transcode720p(_ input: URL, in folder: URL) async throws -> Output {
        try await backgroundSlots.run {
            let target = folder.appendingPathComponent("720p.mp4")
            try await tool("ffmpeg", [
                "-nostdin", "-v", "error", "-format_whitelist", Self.formatWhitelist, "-i", input.path,
                "-vf", "scale='if(gt(iw,ih),-2,720)':'if(gt(iw,ih),720,-2)'",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart",
                "-map_metadata", "-1", "-threads", "1", "-fps_mode", "passthrough", "-y", target.path,
            ], in: folder, limit: settings.transcodeTimeLimit).run()
            let size = try FileManager.default.attributesOfItem(atPath: target.path)[.size] as? Int ?? 0
            let probed = try await probe(target, stream: "v", in: folder)
            return Output(variant: MediaVariant(name: "720p", mimeType: "video/mp4", size: Int64(size), width: probed.width, height: probed.height), file: target)
        }
    }

    private func voice(_ input: URL, in folder: URL) async throws -> Result {
        let probed: (width: Int?, height: Int?, duration: Double?, format: String)
        do { probed = try await probe(input, stream: "a", in: folder) } catch let failure as ExternalCommand.Failure where !failure.isMissingTool {
            throw Unprocessable(reason: "the voice message could not be read (\(failure.tool))")
        }
        let pcm = folder.appendingPathComponent("voice.pcm")
        try await tool("ffmpeg", [
            "-nostdin", "-v", "error", "-format_whitelist", Self.formatWhitelist, "-i", input.path, "-ac", "1", "-ar", "1000",
            "-f", "s16le", "-y", pcm.path,
        ], in: folder).run()
        let sampleCount = ((try? FileManager.default.attributesOfItem(atPath: pcm.path)[.size] as? Int) ?? 0) / 2
        // A browser's WebM recording has no duration in its header; the decoded samples (1,000 a
        // second) tell it.
        let duration = probed.duration ?? (sampleCount == 0 ? nil : Double(sampleCount) / 1000)
        let waveform = try await onFileThreads { try Self.waveform(pcmFile: pcm, samples: sampleCount, bars: 100) }
        return Result(duration: duration, waveform: waveform)
    }

    /// `bars` levels from 0 to 31: the loudest sample of each stretch, scaled to the loudest overall.
    /// Reads the samples (16-bit little-endian) a megabyte at a time, so an hour-long note costs no
    /// more memory than a short one.
    static func waveform(pcmFile: URL, samples count: Int, bars: Int) throws -> [UInt8] {
        guard count > 0 else { return Array(repeating: 0, count: bars) }
        let handle = try FileHandle(forReadingFrom: pcmFile)
        defer { try? handle.close() }
        var peaks = [Int](repeating: 0, count: bars)
        var index = 0
        while index < count, let block = try handle.read(upToCount: 1 << 20), block.count >= 2 {
            block.withUnsafeBytes { raw in
                for offset in stride(from: 0, to: raw.count - 1, by: 2) where index < count {
                    let sample = Int(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
                    let bar = index * bars / count
                    peaks[bar] = max(peaks[bar], abs(sample))
                    index += 1
                }
            }
        }
        let loudest = max(peaks.max() ?? 0, 1)
        return peaks.map { UInt8(min(31, $0 * 31 / loudest)) }
    }
}
