import Logging

extension PeriodicJob {
    /// Every ten minutes, removes expired uploads, media no message carries a day after upload
    /// and media of messages deleted for everyone after the purge period.
    static func mediaCollection(_ media: MediaService, logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "media garbage collection", interval: .seconds(600), logger: logger) {
            let removed = try await media.collectGarbage()
            if removed > 0 { logger.info("removed media", metadata: ["files": "\(removed)"]) }
        }
    }
}
