/// Courier's schema, as an ordered list of migrations. Append new versions; never edit one that
/// has shipped.
///
/// Conventions: ids are UUIDs, times are epoch milliseconds in BIGINT columns (exact on both
/// engines), enumerations are text with CHECK constraints, unique indexes are named
/// `<table>_<column>_unique` so a violation can be traced to its field on both engines.
public enum Schema {
    public static let migrations: [Migration] = [
        initial, keyedAuditLog, updateLog, media, calls, searchIndex, reactionsAndPins, chatListSettings, metadataAtRest, bots, searchDocuments,
        messageSideIndexes, appendMessageFunction, dropUnreadMessageIndex,
    ]

    /// `idx_messages_chat_created` served no query: history and catch-up read by `(chat_id, seq)`,
    /// search reads `created_at` from the rows it found (`+m.created_at`, on purpose), and nothing
    /// else asks for a chat's messages by time. Every message sent wrote a page of it all the same:
    /// 1.6 of the 20.6 pages a send's commit wrote to SQLite's log at 1,000 msg/s.
    static let dropUnreadMessageIndex = Migration(version: 14, name: "drop unread message index") { _ in
        ["DROP INDEX idx_messages_chat_created"]
    }

    /// SQLite's search index as FTS5 documents (see `SearchIndex`): one per message, its rowid
    /// `ordinal << 32 | seq`, where `search_chats` gives every chat its ordinal (a trigger numbers
    /// new chats; AUTOINCREMENT never gives a deleted chat's number again). The entries of
    /// `search_tokens` do not say their chat, so they are dropped and every chat is indexed again
    /// by the background pass (`search_backfill`), newest chats included. PostgreSQL keeps
    /// `search_tokens`.
    static let searchDocuments = Migration(version: 11, name: "search documents") { t in
        guard t.engine == .sqlite else { return [] }
        return [
            """
            CREATE TABLE search_chats (
                ordinal INTEGER PRIMARY KEY AUTOINCREMENT,
                chat_id TEXT NOT NULL UNIQUE REFERENCES chats (id) ON DELETE CASCADE
            )
            """,
            "INSERT INTO search_chats (chat_id) SELECT id FROM chats ORDER BY created_at, id",
            "CREATE TRIGGER search_chats_numbered AFTER INSERT ON chats BEGIN INSERT INTO search_chats (chat_id) VALUES (NEW.id); END",
            "CREATE VIRTUAL TABLE search_documents USING fts5(tokens, content='', contentless_delete=1, detail=none, tokenize='ascii')",
            "DROP TABLE search_tokens",
            """
            INSERT INTO search_backfill (chat_id, indexed_up_to, until_seq) SELECT id, 0, last_seq FROM chats WHERE last_seq > 0
            ON CONFLICT (chat_id) DO UPDATE SET indexed_up_to = 0, until_seq = excluded.until_seq
            """,
        ]
    }

    /// Indexes from a message to what hangs on it: deleting a message for everyone removes its pins
    /// and reads who had hidden it, and a message's row going removes both by cascade; without
    /// these, each of them read the whole table.
    static let messageSideIndexes = Migration(version: 12, name: "message-side indexes") { _ in
        [
            "CREATE INDEX idx_hidden_messages_message ON hidden_messages (message_id)",
            "CREATE INDEX idx_pinned_messages_message ON pinned_messages (message_id)",
        ]
    }

    /// Bots: accounts (`users.is_bot`) that a person owns and a program drives through the Bot API
    /// (`/bot<token>/…`). `bots` holds the token's hash, the commands, the webhook and the bot's
    /// update counter; `bot_updates` the updates a bot has not confirmed yet (taken from the chats'
    /// update log, `chat_members.feed_pts` marking how far, and from the bot's own log,
    /// `bots.account_pts`; or written in the transaction of a button pressed, which no log holds);
    /// `bot_callback_queries` the buttons pressed and the bots' answers; `bot_api_ids` the Bot
    /// API's integer ids of users and chats.
    static let bots = Migration(version: 10, name: "bots") { t in
        [
            "ALTER TABLE users ADD COLUMN is_bot SMALLINT NOT NULL DEFAULT 0",
            "ALTER TABLE chat_members ADD COLUMN feed_pts BIGINT NOT NULL DEFAULT 0",
            // Members who joined before this version start where their chats are now.
            "UPDATE chat_members SET feed_pts = (SELECT last_pts FROM chats WHERE chats.id = chat_members.chat_id)",
            """
            CREATE TABLE bots (
                user_id \(t.uuid) PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                owner_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                token_hash VARCHAR(64) NOT NULL,
                commands TEXT,
                last_update_id BIGINT NOT NULL DEFAULT 0,
                account_pts BIGINT NOT NULL DEFAULT 0,
                webhook_url TEXT,
                webhook_secret TEXT,
                allowed_updates TEXT,
                webhook_error_at BIGINT,
                webhook_error TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX idx_bots_owner ON bots (owner_id)",
            """
            CREATE TABLE bot_updates (
                bot_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                update_id BIGINT NOT NULL,
                kind VARCHAR(32) NOT NULL,
                chat_id \(t.uuid),
                message_id \(t.uuid),
                actor_id \(t.uuid),
                detail TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (bot_id, update_id)
            )
            """,
            "CREATE INDEX idx_bot_updates_created ON bot_updates (created_at)",
            """
            CREATE TABLE bot_callback_queries (
                id VARCHAR(32) PRIMARY KEY,
                bot_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                message_id \(t.uuid) NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                data TEXT NOT NULL,
                answer TEXT,
                answered_at BIGINT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX idx_bot_callback_queries_created ON bot_callback_queries (created_at)",
            "CREATE TABLE bot_api_ids (number BIGINT PRIMARY KEY, entity_id \(t.uuid) NOT NULL)",
            "CREATE UNIQUE INDEX bot_api_ids_entity_id_unique ON bot_api_ids (entity_id)",
        ]
    }

    /// Phone numbers, e-mail addresses, bios, chat names and channel descriptions are sealed like
    /// message content (`MetadataSealer` seals the rows stored before this version, once, at start).
    /// Phone and e-mail are found by a blind index (HMAC-SHA-256 under a key of the keyring) that
    /// carries their uniqueness instead of the plain value.
    static let metadataAtRest = Migration(version: 9, name: "metadata at rest") { t in
        var statements = [
            "ALTER TABLE users ADD COLUMN phone_index VARCHAR(64)",
            "ALTER TABLE users ADD COLUMN email_index VARCHAR(64)",
            "ALTER TABLE users ADD COLUMN metadata_sealed SMALLINT NOT NULL DEFAULT 0",
            "ALTER TABLE chats ADD COLUMN metadata_sealed SMALLINT NOT NULL DEFAULT 0",
            "ALTER TABLE channels ADD COLUMN metadata_sealed SMALLINT NOT NULL DEFAULT 0",
            "DROP INDEX users_phone_unique",
            "DROP INDEX users_email_unique",
            "CREATE UNIQUE INDEX users_phone_index_unique ON users (phone_index)",
            "CREATE UNIQUE INDEX users_email_index_unique ON users (email_index)",
            // Work a node does once after this version, until it succeeds (see `MetadataSealer`).
            "CREATE TABLE maintenance_tasks (name VARCHAR(64) PRIMARY KEY)",
            "INSERT INTO maintenance_tasks (name) VALUES ('metadata_vacuum')",
        ]
        if t.engine == .postgres {
            // Sealed values are longer than the plain ones were allowed to be.
            statements += ["phone", "email"].map { "ALTER TABLE users ALTER COLUMN \($0) TYPE TEXT" }
            statements.append("ALTER TABLE chats ALTER COLUMN name TYPE TEXT")
        }
        return statements
    }

    static let initial = Migration(version: 1, name: "initial schema") { t in
        [
            """
            CREATE TABLE users (
                id \(t.uuid) PRIMARY KEY,
                phone VARCHAR(20) NOT NULL,
                email VARCHAR(254),
                password_hash VARCHAR(255) NOT NULL,
                username VARCHAR(32) NOT NULL,
                avatar_url TEXT,
                bio TEXT,
                is_premium BOOLEAN NOT NULL DEFAULT FALSE,
                last_seen_at BIGINT,
                is_server_admin BOOLEAN NOT NULL DEFAULT FALSE,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX users_phone_unique ON users (phone)",
            "CREATE UNIQUE INDEX users_email_unique ON users (email)",
            "CREATE UNIQUE INDEX users_username_unique ON users (username)",

            """
            CREATE TABLE sessions (
                id \(t.uuid) PRIMARY KEY,
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                device_name VARCHAR(128),
                ip_address VARCHAR(64),
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """,
            "CREATE INDEX sessions_user_id ON sessions (user_id)",

            // Only a SHA-256 of each refresh token is kept; a rotated token stays as a tombstone
            // (used_at set) so that its reuse is recognised and revokes the session.
            """
            CREATE TABLE refresh_tokens (
                token_hash VARCHAR(64) PRIMARY KEY,
                session_id \(t.uuid) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT
            )
            """,
            "CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id)",

            // Every conversation is a chat: DMs, groups and channels share members, messages, seq and
            // paging. last_seq hands out each message's per-chat sequence number inside the sending
            // transaction; member_count is kept in the transaction that changes membership, so it is exact.
            """
            CREATE TABLE chats (
                id \(t.uuid) PRIMARY KEY,
                type VARCHAR(16) NOT NULL CHECK (type IN ('dm', 'group', 'channel')),
                name VARCHAR(255),
                owner_id \(t.uuid) REFERENCES users (id) ON DELETE SET NULL,
                dm_key VARCHAR(80),
                last_seq BIGINT NOT NULL DEFAULT 0,
                member_count INTEGER NOT NULL DEFAULT 0,
                last_activity_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            // A DM is identified by its two members (sorted ids), so creating it twice finds the first.
            "CREATE UNIQUE INDEX chats_dm_key_unique ON chats (dm_key)",

            // Envelope encryption: one data key per scope (a chat, or account secrets), wrapped by a
            // master key version that lives only in the key file.
            """
            CREATE TABLE data_keys (
                id \(t.uuid) PRIMARY KEY,
                scope VARCHAR(64) NOT NULL,
                chat_id \(t.uuid) REFERENCES chats (id) ON DELETE CASCADE,
                master_version INTEGER NOT NULL,
                wrapped_key TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX data_keys_scope_unique ON data_keys (scope)",

            """
            CREATE TABLE chat_members (
                chat_id \(t.uuid) NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                role VARCHAR(16) NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member', 'subscriber')),
                joined_at BIGINT NOT NULL,
                last_read_seq BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (chat_id, user_id)
            )
            """,
            "CREATE INDEX idx_chat_members_user ON chat_members (user_id)",

            """
            CREATE TABLE messages (
                id \(t.uuid) PRIMARY KEY,
                chat_id \(t.uuid) NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
                seq BIGINT NOT NULL,
                sender_id \(t.uuid) REFERENCES users (id) ON DELETE SET NULL,
                content TEXT NOT NULL,
                message_type VARCHAR(16) NOT NULL DEFAULT 'text'
                    CHECK (message_type IN ('text', 'image', 'video', 'audio', 'file')),
                media_url TEXT,
                attachments TEXT,
                metadata TEXT,
                reply_to_id \(t.uuid),
                forwarded_from_id \(t.uuid),
                forwarded_from_sender_id \(t.uuid),
                client_msg_id VARCHAR(64),
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                edited_at BIGINT,
                deleted_at BIGINT
            )
            """,
            // History pages and gap-free catch-up read by (chat_id, seq).
            "CREATE UNIQUE INDEX messages_chat_seq_unique ON messages (chat_id, seq)",
            "CREATE INDEX idx_messages_chat_created ON messages (chat_id, created_at DESC)",
            "CREATE INDEX idx_messages_sender ON messages (sender_id)",
            // Idempotent sending: one message per sender and client-chosen id.
            "CREATE UNIQUE INDEX messages_client_msg_id_unique ON messages (sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL",

            // "Delete for me": the message stays for everyone else.
            """
            CREATE TABLE hidden_messages (
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                message_id \(t.uuid) NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                chat_id \(t.uuid) NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
                hidden_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, message_id)
            )
            """,
            "CREATE INDEX idx_hidden_messages_user_chat ON hidden_messages (user_id, chat_id)",

            // What a channel adds to its chat (same id): a public username and a description.
            // Its subscriber count is the chat's member_count.
            """
            CREATE TABLE channels (
                id \(t.uuid) PRIMARY KEY REFERENCES chats (id) ON DELETE CASCADE,
                username VARCHAR(32),
                description TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX channels_username_unique ON channels (username)",

            """
            CREATE TABLE subscriptions (
                id \(t.uuid) PRIMARY KEY,
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                type VARCHAR(32) NOT NULL CHECK (type IN ('premium_monthly', 'premium_yearly')),
                start_date BIGINT NOT NULL,
                end_date BIGINT NOT NULL,
                auto_renew BOOLEAN NOT NULL DEFAULT FALSE,
                status VARCHAR(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired', 'cancelled')),
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX idx_subscriptions_user_status ON subscriptions (user_id, status)",
            "CREATE INDEX idx_subscriptions_end_date ON subscriptions (end_date)",

            // Amounts in cents: exact on both engines, where DECIMAL is not.
            """
            CREATE TABLE payment_logs (
                id \(t.uuid) PRIMARY KEY,
                user_id \(t.uuid) REFERENCES users (id) ON DELETE SET NULL,
                amount_cents BIGINT NOT NULL,
                subscription_type VARCHAR(50) NOT NULL,
                status VARCHAR(32) NOT NULL DEFAULT 'pending' CHECK (status IN ('completed_stub', 'pending', 'failed')),
                payment_method VARCHAR(50) NOT NULL DEFAULT 'stub',
                notes TEXT,
                subscription_id \(t.uuid) REFERENCES subscriptions (id) ON DELETE SET NULL,
                idempotency_key VARCHAR(128),
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX idx_payment_logs_user ON payment_logs (user_id)",
            // A retried purchase with the same Idempotency-Key finds the first payment instead of making a second.
            "CREATE UNIQUE INDEX payment_logs_idempotency_key_unique ON payment_logs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",

            // TOTP two-factor authentication: the secret (sealed), when it was confirmed, and the last
            // time step used, so a code cannot be replayed. Recovery codes are kept as SHA-256 hashes.
            """
            CREATE TABLE two_factor (
                user_id \(t.uuid) PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                secret TEXT NOT NULL,
                confirmed_at BIGINT,
                last_used_step BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE recovery_codes (
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                code_hash VARCHAR(64) NOT NULL,
                used_at BIGINT,
                PRIMARY KEY (user_id, code_hash)
            )
            """,

            // Append-only security log. Each entry's hash covers its fields and the previous entry's
            // hash, so editing, removing or reordering entries breaks the chain (`courier audit verify`).
            """
            CREATE TABLE audit_log (
                seq BIGINT PRIMARY KEY,
                id \(t.uuid) NOT NULL,
                occurred_at BIGINT NOT NULL,
                actor_id \(t.uuid),
                subject_id \(t.uuid),
                action VARCHAR(64) NOT NULL,
                outcome VARCHAR(16) NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
                ip_address VARCHAR(64),
                details TEXT,
                prev_hash VARCHAR(64) NOT NULL,
                hash VARCHAR(64) NOT NULL
            )
            """,
            "CREATE INDEX idx_audit_log_subject ON audit_log (subject_id, seq)",

            // What Telegram carries instead of content: an opaque reference, resolved here. A row is
            // also the durable job of relaying it: pending → sending → sent | failed.
            """
            CREATE TABLE message_references (
                reference VARCHAR(64) PRIMARY KEY,
                telegram_id VARCHAR(64),
                local_message_id \(t.uuid) NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                recipient_id \(t.uuid) REFERENCES users (id) ON DELETE CASCADE,
                telegram_chat_id BIGINT,
                message_type VARCHAR(16) NOT NULL,
                timestamp BIGINT NOT NULL,
                delivery_status VARCHAR(16) NOT NULL DEFAULT 'pending'
                    CHECK (delivery_status IN ('pending', 'sending', 'sent', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL DEFAULT 0,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX idx_message_references_message ON message_references (local_message_id)",
            "CREATE INDEX idx_message_references_due ON message_references (delivery_status, next_attempt_at)",

            // A Courier account linked to a Telegram chat with the bot, and how it wants to be notified.
            """
            CREATE TABLE telegram_links (
                user_id \(t.uuid) PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                telegram_chat_id BIGINT NOT NULL,
                relay_mode VARCHAR(16) NOT NULL DEFAULT 'offline' CHECK (relay_mode IN ('offline', 'always', 'never')),
                linked_at BIGINT NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX telegram_links_telegram_chat_id_unique ON telegram_links (telegram_chat_id)",
            // One-time linking tokens (the deep link's start parameter), stored hashed.
            """
            CREATE TABLE telegram_link_tokens (
                token_hash VARCHAR(64) PRIMARY KEY,
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                expires_at BIGINT NOT NULL,
                used_at BIGINT
            )
            """,
        ]
    }

    /// The audit log is sealed with a key from the keyring (HMAC-SHA256) instead of a plain hash, so
    /// that write access to the database alone cannot re-chain it. Key version 0 marks entries from
    /// before; `audit_unsealed` records how many there were when this ran, and the first server
    /// start afterwards seals exactly those (`AuditStore.sealUnkeyedEntries`), once.
    static let keyedAuditLog = Migration(version: 2, name: "keyed audit log") { _ in
        [
            "ALTER TABLE audit_log ADD COLUMN key_version INTEGER NOT NULL DEFAULT 0",
            "CREATE TABLE audit_unsealed (head BIGINT NOT NULL)",
            "INSERT INTO audit_unsealed (head) SELECT MAX(seq) FROM audit_log HAVING COUNT(*) > 0",
        ]
    }

    /// The update log: every change someone sees gets a position in the same transaction. Per chat
    /// (`chats.last_pts`, rows in `chat_updates`) for what the chat's members see; per person
    /// (`users.last_pts`, rows in `account_updates`) for what only they see. Rows older than the
    /// retention are pruned; `*_pruned_pts` remembers how far, so a device further behind is told
    /// to reload (`too_long`) instead of getting a gap.
    static let updateLog = Migration(version: 3, name: "update log") { t in
        [
            "ALTER TABLE chats ADD COLUMN last_pts BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE chats ADD COLUMN pruned_pts BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE users ADD COLUMN last_pts BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE users ADD COLUMN pruned_pts BIGINT NOT NULL DEFAULT 0",
            // Existing chats start their log at their newest message, as if everything before had
            // been pruned: a position a device held before the log (a `seq`) is then either current
            // or `too_long` (reload), never mistaken for a position of the log.
            "UPDATE chats SET last_pts = last_seq, pruned_pts = last_seq",
            """
            CREATE TABLE chat_updates (
                chat_id \(t.uuid) NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
                pts BIGINT NOT NULL,
                kind VARCHAR(32) NOT NULL,
                message_id \(t.uuid),
                user_id \(t.uuid),
                value BIGINT,
                detail VARCHAR(64),
                created_at BIGINT NOT NULL,
                PRIMARY KEY (chat_id, pts)
            )
            """,
            "CREATE INDEX idx_chat_updates_created ON chat_updates (created_at)",
            """
            CREATE TABLE account_updates (
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                pts BIGINT NOT NULL,
                kind VARCHAR(32) NOT NULL,
                chat_id \(t.uuid),
                message_id \(t.uuid),
                subject_id \(t.uuid),
                value BIGINT,
                detail VARCHAR(64),
                created_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, pts)
            )
            """,
            "CREATE INDEX idx_account_updates_created ON account_updates (created_at)",
            // Relay jobs are queued in the message's transaction; whether a recipient with the
            // `offline` mode is online is decided when the notice is sent.
            "ALTER TABLE message_references ADD COLUMN only_if_offline INTEGER NOT NULL DEFAULT 0",
        ]
    }

    /// Media files. `media` holds an upload from its creation (`uploading`, `received` bytes so
    /// far) to its completion (`ready`); its file key and its description (name, type, hash,
    /// dimensions, preview, …) are sealed by the keyring, its bytes are encrypted chunks in the blob
    /// store. `media_blobs` lists the stored forms of a file (the file itself, photo sizes, a
    /// poster); `message_media` which messages carry which media, for access checks and garbage
    /// collection (a reference's `deleted_at` is set when its message is deleted for everyone).
    /// `pending_work` names background processing still to do (a video's 720p variant).
    static let media = Migration(version: 4, name: "media") { t in
        [
            """
            CREATE TABLE media (
                id \(t.uuid) PRIMARY KEY,
                owner_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                state VARCHAR(16) NOT NULL CHECK (state IN ('uploading', 'ready')),
                kind VARCHAR(16) NOT NULL CHECK (kind IN ('photo', 'video', 'voice', 'file')),
                size BIGINT NOT NULL,
                received BIGINT NOT NULL DEFAULT 0,
                chunk_size INTEGER NOT NULL,
                file_key TEXT NOT NULL,
                info TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT,
                completed_at BIGINT,
                pending_work VARCHAR(16)
            )
            """,
            "CREATE INDEX idx_media_owner ON media (owner_id)",
            "CREATE INDEX idx_media_state_expires ON media (state, expires_at)",
            """
            CREATE TABLE media_blobs (
                media_id \(t.uuid) NOT NULL REFERENCES media (id) ON DELETE CASCADE,
                variant VARCHAR(16) NOT NULL,
                blob_id \(t.uuid) NOT NULL,
                size BIGINT NOT NULL,
                PRIMARY KEY (media_id, variant)
            )
            """,
            """
            CREATE TABLE message_media (
                message_id \(t.uuid) NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                media_id \(t.uuid) NOT NULL REFERENCES media (id) ON DELETE CASCADE,
                chat_id \(t.uuid) NOT NULL,
                position INTEGER NOT NULL,
                deleted_at BIGINT,
                PRIMARY KEY (message_id, media_id)
            )
            """,
            "CREATE INDEX idx_message_media_media ON message_media (media_id, chat_id)",
        ]
    }

    /// Calls: one row per call from its invite to its end. `offer` is the caller's session
    /// description, sealed, kept only while the call rings (a device that opens late can still
    /// answer) and dropped once it is answered or over. `caller_seen_at` / `callee_seen_at` are
    /// when each side last signalled, so a call whose device vanished ends. `calls_relay_only` is
    /// a person's "relay all my calls" setting.
    static let calls = Migration(version: 5, name: "calls") { t in
        [
            """
            CREATE TABLE calls (
                id \(t.uuid) PRIMARY KEY,
                chat_id \(t.uuid) NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
                caller_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                callee_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                caller_session \(t.uuid) NOT NULL,
                callee_session \(t.uuid),
                video INTEGER NOT NULL,
                state VARCHAR(16) NOT NULL CHECK (state IN ('ringing', 'active', 'ended')),
                outcome VARCHAR(16),
                offer TEXT,
                created_at BIGINT NOT NULL,
                accepted_at BIGINT,
                ended_at BIGINT,
                caller_seen_at BIGINT NOT NULL,
                callee_seen_at BIGINT
            )
            """,
            "CREATE INDEX idx_calls_state ON calls (state, created_at)",
            "CREATE INDEX idx_calls_caller ON calls (caller_id, state)",
            "CREATE INDEX idx_calls_callee ON calls (callee_id, state)",
            "ALTER TABLE users ADD COLUMN calls_relay_only INTEGER NOT NULL DEFAULT 0",
        ]
    }

    /// The search index: keyed hashes of words, never the words (see `SearchIndex`). A row says
    /// "the message with this `seq`, in the chat whose key made this hash, has this word".
    static let searchIndex = Migration(version: 6, name: "search index") { t in
        [
            """
            CREATE TABLE search_tokens (
                token BIGINT NOT NULL,
                seq BIGINT NOT NULL,
                PRIMARY KEY (token, seq)
            ) \(t.keyOnlyTable)
            """,
            // Messages stored before this version are indexed by a background pass (`SearchBackfill`)
            // that remembers here how far it got; later ones are indexed as they are stored.
            """
            CREATE TABLE search_backfill (
                chat_id \(t.uuid) PRIMARY KEY REFERENCES chats (id) ON DELETE CASCADE,
                indexed_up_to BIGINT NOT NULL,
                until_seq BIGINT NOT NULL
            )
            """,
            "INSERT INTO search_backfill (chat_id, indexed_up_to, until_seq) SELECT id, 0, last_seq FROM chats WHERE last_seq > 0",
        ]
    }

    /// Reactions (one per person per message) and pinned messages.
    static let reactionsAndPins = Migration(version: 7, name: "reactions and pins") { t in
        [
            """
            CREATE TABLE message_reactions (
                message_id \(t.uuid) NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                emoji VARCHAR(64) NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (message_id, user_id)
            )
            """,
            "CREATE INDEX idx_message_reactions_user ON message_reactions (user_id)",
            """
            CREATE TABLE pinned_messages (
                chat_id \(t.uuid) NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
                message_id \(t.uuid) NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                pinned_by \(t.uuid) REFERENCES users (id) ON DELETE SET NULL,
                pinned_at BIGINT NOT NULL,
                PRIMARY KEY (chat_id, message_id)
            )
            """,
            "CREATE INDEX idx_pinned_messages_newest ON pinned_messages (chat_id, pinned_at)",
        ]
    }

    /// Each person's own settings of a chat in their list (pinned to the top, muted until,
    /// archived, a draft sealed like message content), and who was mentioned where.
    static let chatListSettings = Migration(version: 8, name: "chat list settings and mentions") { t in
        [
            "ALTER TABLE chat_members ADD COLUMN pinned_at BIGINT",
            "ALTER TABLE chat_members ADD COLUMN muted_until BIGINT",
            "ALTER TABLE chat_members ADD COLUMN archived INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE chat_members ADD COLUMN draft TEXT",
            "ALTER TABLE chat_members ADD COLUMN draft_updated_at BIGINT",
            """
            CREATE TABLE message_mentions (
                chat_id \(t.uuid) NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
                user_id \(t.uuid) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                seq BIGINT NOT NULL,
                message_id \(t.uuid) NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
                PRIMARY KEY (chat_id, user_id, seq)
            )
            """,
            "CREATE INDEX idx_message_mentions_message ON message_mentions (message_id)",
        ]
    }
}
