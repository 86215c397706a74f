import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit

/// SQLKit's view of a `SQLiteDirectConnection`: repositories and migrations keep speaking SQLKit.
///
/// On the connection's thread (where the engine runs every read and write body) a statement runs
/// at once, without suspending; anywhere else it is sent to that thread and back.
struct SQLiteDirectDatabase: SQLDatabase {
    let connection: SQLiteDirectConnection
    let logger: Logger
    let queryLogLevel: Logger.Level? = nil
    let dialect: any SQLDialect = SQLiteDialect()

    init(connection: SQLiteDirectConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Only SQLKit's legacy future-based calls use it; Courier's code awaits.
    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, rawBinds) = serialize(query)
        let binds = try rawBinds.map { try SQLiteValueCodec.shared.encode($0) }
        let connection = connection
        if connection.thread.isCurrent {
            try connection.execute(sql, binds, onRow)
        } else {
            try await connection.thread.run { try connection.execute(sql, binds, onRow) }
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await self.execute(sql: query, onRow) }
        return promise.futureResult
    }
}
