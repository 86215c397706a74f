import Logging

/// The database behind one Courier deployment: its engine and the repositories over it.
public struct Store: Sendable {
    public let engine: any DatabaseEngine
    public let users: UserStore
    public let sessions: SessionStore
    public let chats: ChatStore
    public let messages: MessageStore
    public let subscriptions: SubscriptionStore

    public init(engine: any DatabaseEngine) {
        self.engine = engine
        self.users = UserStore(engine: engine)
        self.sessions = SessionStore(engine: engine)
        self.chats = ChatStore(engine: engine)
        self.messages = MessageStore(engine: engine)
        self.subscriptions = SubscriptionStore(engine: engine)
    }

    /// Opens the database a configuration names: PostgreSQL for a `postgres://` URL, otherwise the
    /// SQLite file at `sqlitePath`.
    public static func open(databaseURL: String?, sqlitePath: String, logger: Logger) async throws -> Store {
        if let databaseURL, !databaseURL.isEmpty {
            guard let url = PostgresURL(databaseURL) else {
                throw StoreConfigurationError("DATABASE_URL must be a postgres:// URL (postgres://user:password@host:5432/database).")
            }
            return Store(engine: try await PostgresEngine.connect(url: url, logger: logger))
        }
        return Store(engine: try await SQLiteEngine.open(path: sqlitePath, logger: logger))
    }
}

/// A database setting that cannot work, explained for the person who set it.
public struct StoreConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
