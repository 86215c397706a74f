import Logging
import ServiceLifecycle

/// Background processing that may lag behind an upload (a video's 720p variant): woken when an
/// upload leaves work, and every minute for work left by a node that stopped.
struct MediaWorkService: Service {
    let media: MediaService
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                // Cancelled on shutdown: a running transcode is killed, and done again after the restart.
                try await cancelWhenGracefulShutdown { try await media.doPendingWork() }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("media background work failed", metadata: ["error": "\(error)"])
            }
            await cancelWhenGracefulShutdown { await media.work.wait(upTo: .seconds(60)) }
        }
    }
}
