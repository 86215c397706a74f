import CourierStore
import Logging

extension PeriodicJob {
    /// Indexes the messages stored before search existed, a batch at a time, on one node of the
    /// deployment; once they are done, it only checks each minute that none are left.
    static func searchBackfill(_ search: MessageSearch, logger: Logger) -> PeriodicJob {
        PeriodicJob(name: "search index backfill", interval: .seconds(60), logger: logger) {
            var indexed = 0
            while !Task.isCancelled {
                let batch = try await search.backfill()
                guard batch > 0 else { break }
                indexed += batch
                // Other writers get the database between batches.
                try await Task.sleep(for: .milliseconds(20))
            }
            if indexed > 0 { logger.info("indexed earlier messages for search", metadata: ["messages": "\(indexed)"]) }
        }
    }
}
