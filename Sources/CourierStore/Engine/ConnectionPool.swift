/// A fixed set of connections handed out one caller at a time, in arrival order.
///
/// SQLite connections are not safe to share between concurrent statements of different callers,
/// and a transaction must keep its connection to itself until it ends; this pool gives each caller
/// exclusive use without blocking a thread while it waits.
actor ConnectionPool<Connection: Sendable> {
    private var idle: [Connection]
    private var waiters: [CheckedContinuation<Connection, Never>] = []
    private(set) var all: [Connection]

    init(_ connections: [Connection]) {
        precondition(!connections.isEmpty, "a pool needs at least one connection")
        self.idle = connections
        self.all = connections
    }

    func acquire() async -> Connection {
        if let connection = idle.popLast() { return connection }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ connection: Connection) {
        if waiters.isEmpty {
            idle.append(connection)
        } else {
            waiters.removeFirst().resume(returning: connection)
        }
    }
}

extension ConnectionPool {
    /// Runs `body` with a connection of its own and returns the connection afterwards, also on error.
    /// The body runs outside the actor, so waiting callers are served while it works.
    nonisolated func withConnection<Result: Sendable>(
        _ body: @Sendable (Connection) async throws -> Result
    ) async throws -> Result {
        let connection = await acquire()
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }
}
