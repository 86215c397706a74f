import CourierCore
import CourierStore
import Foundation

/// How media are limited, processed, stored and collected.
public struct MediaSettings: Sendable, Equatable {
    /// Largest file, in bytes: Telegram's 2 GiB, and 4 GiB with premium.
    public var maxFileBytes: Int64 = 2 << 30
    public var maxFileBytesPremium: Int64 = 4 << 30
    /// Bytes one person may store (finished media plus uploads in progress).
    public var quotaBytes: Int64 = 20 << 30
    public var quotaBytesPremium: Int64 = 100 << 30
    /// Media of messages deleted for everyone are removed this long after the deletion.
    public var purgeDeletedAfter: Duration = .seconds(30 * 24 * 3600)
    /// Finished media no message carries are removed this long after their upload finished.
    public var unreferencedLifetime: Duration = .seconds(24 * 3600)
    /// Unfinished uploads expire this long after they were created.
    public var uploadLifetime: Duration = .seconds(Int64(MediaLimits.uploadLifetimeHours) * 3600)
    /// Largest photo accepted for processing, in pixels (a decompression bomb is refused by its header).
    public var maxPixels = 50_000_000
    /// Processing jobs at once: no more than the machine's cores.
    public var processingSlots = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Time limit of one processing step (a photo's sizes, a poster, a waveform).
    public var jobTimeLimit: Duration = .seconds(60)
    /// Time limit of a video's 720p transcoding.
    public var transcodeTimeLimit: Duration = .seconds(30 * 60)
    /// How long a signed download link works.
    public var linkLifetime: Duration = .seconds(3600)
    /// The S3-compatible bucket; nil keeps media in the data folder.
    public var s3: S3Configuration?

    public init() {}

    /// Reads `COURIER_MEDIA_*` and `COURIER_S3_*` from the environment.
    public static func resolve(environment: [String: String]) throws(ConfigurationError) -> MediaSettings {
        var settings = MediaSettings()
        func bytes(_ name: String) throws(ConfigurationError) -> Int64? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            // Up to 1 TiB: sizes stay far from where their arithmetic could overflow.
            guard let number = Int64(text), number > 0, number <= 1 << 40 else {
                throw ConfigurationError("\(name) must be a number from 1 to \(Int64(1) << 40), not '\(text)'.")
            }
            return number
        }
        settings.maxFileBytes = try bytes("COURIER_MEDIA_MAX_FILE_BYTES") ?? settings.maxFileBytes
        settings.maxFileBytesPremium = try bytes("COURIER_MEDIA_MAX_FILE_BYTES_PREMIUM") ?? max(settings.maxFileBytesPremium, settings.maxFileBytes)
        settings.quotaBytes = try bytes("COURIER_MEDIA_QUOTA_BYTES") ?? settings.quotaBytes
        settings.quotaBytesPremium = try bytes("COURIER_MEDIA_QUOTA_BYTES_PREMIUM") ?? max(settings.quotaBytesPremium, settings.quotaBytes)
        if let days = try bytes("COURIER_MEDIA_PURGE_DAYS") {
            guard days <= 3650 else { throw ConfigurationError("COURIER_MEDIA_PURGE_DAYS must be 1 to 3650.") }
            settings.purgeDeletedAfter = .seconds(days * 24 * 3600)
        }
        if let pixels = try bytes("COURIER_MEDIA_MAX_PIXELS") { settings.maxPixels = Int(pixels) }
        do {
            settings.s3 = try S3Configuration.fromEnvironment(environment)
        } catch {
            throw ConfigurationError("\(error)")
        }
        return settings
    }
}
