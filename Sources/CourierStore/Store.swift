import Logging

/// The database behind one Courier deployment: its engine and the repositories over it.
public struct Store: Sendable {
    public let engine: any DatabaseEngine
    public let users: UserStore
    public let sessions: SessionStore
    public let chats: ChatStore
    public let messages: MessageStore
    public let subscriptions: SubscriptionStore
    public let keyring: Keyring
    public let audit: AuditStore
    public let twoFactor: TwoFactorStore
    public let telegram: TelegramStore
    public let updates: UpdateStore
    public let media: MediaStore
    public let calls: CallStore
    public let search: MessageSearch
    public let reactions: ReactionStore
    public let pins: PinStore
    public let chatSettings: ChatSettingsStore
    public let bots: BotStore

    /// The repositories over a migrated database, encrypting content with `keyring`.
    ///
    /// - Parameter auditAnchorPath: the file outside the database where this node keeps the audit
    ///   log's anchor; nil keeps none.
    public init(engine: any DatabaseEngine, keyring: Keyring, auditAnchorPath: String? = nil) {
        let cipher = MessageCipher(keyring: keyring)
        self.engine = engine
        self.keyring = keyring
        self.users = UserStore(engine: engine, keyring: keyring)
        self.bots = BotStore(engine: engine, keyring: keyring, users: users)
        self.sessions = SessionStore(engine: engine)
        self.chats = ChatStore(engine: engine, cipher: cipher)
        self.messages = MessageStore(engine: engine, cipher: cipher)
        self.subscriptions = SubscriptionStore(engine: engine)
        self.calls = CallStore(engine: engine, keyring: keyring)
        self.audit = AuditStore(engine: engine, keyring: keyring, anchor: auditAnchorPath.map(AuditAnchor.init(path:)))
        self.twoFactor = TwoFactorStore(engine: engine, keyring: keyring)
        self.telegram = TelegramStore(engine: engine)
        self.updates = UpdateStore(engine: engine)
        self.media = MediaStore(engine: engine, keyring: keyring)
        self.search = MessageSearch(engine: engine, cipher: cipher)
        self.reactions = ReactionStore(engine: engine)
        self.pins = PinStore(engine: engine)
        self.chatSettings = ChatSettingsStore(engine: engine, keyring: keyring)
    }

    /// Opens the database a configuration names: PostgreSQL for a `postgres://` URL, otherwise the
    /// SQLite file at `sqlitePath`.
    public static func openEngine(databaseURL: String?, sqlitePath: String, logger: Logger) async throws -> any DatabaseEngine {
        if let databaseURL, !databaseURL.isEmpty {
            guard let url = PostgresURL(databaseURL) else {
                throw StoreConfigurationError("DATABASE_URL must be a postgres:// URL (postgres://user:password@host:5432/database).")
            }
            return try await PostgresEngine.connect(url: url, logger: logger)
        }
        return try await SQLiteEngine.open(path: sqlitePath, logger: logger)
    }
}

/// A database setting that cannot work, explained for the person who set it.
public struct StoreConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
