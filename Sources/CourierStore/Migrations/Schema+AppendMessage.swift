extension Schema {
    /// PostgreSQL stores a sent message with one call of `courier_append_message`: one round trip
    /// from Courier, where `MessageStore.append` made seven and a `BEGIN` and a `COMMIT`, holding the
    /// chat's row lock across all of them (every other send to the chat waited that long). The
    /// function does what `MessageStore`'s statements do on SQLite, in the same order:
    ///
    /// 1. takes the chat's row lock (`FOR NO KEY UPDATE`, as a membership change does);
    /// 2. reads the members of a small chat and the sender's role. Each statement of a PL/pgSQL
    ///    function reads what committed before it started, so this sees every membership change
    ///    that held the lock before;
    /// 3. refuses, writing nothing, unless `kind:role` is one of `may_post` (which Courier makes
    ///    from `ChatPolicy.canPost`: the rule stays in one place);
    /// 4. takes the chat's next `seq` and `pts` and the message's time (never before the previous
    ///    message's), and writes the message, the sender's read mark, the search entries, the
    ///    mentions and the `new_message` update.
    ///
    /// It answers one row: the chat's kind and the sender's role, with the members of a chat of up
    /// to `member_limit` members; `appended_seq`, `appended_pts` and `appended_at` are null when
    /// it refused. A duplicate `client_msg_id` fails the whole statement, as the insert did.
    /// PL/pgSQL keeps each statement's plan for the connection, so none is parsed again.
    static let appendMessageFunction = Migration(version: 13, name: "message append function") { t in
        guard t.engine == .postgres else { return [] }
        return [
            """
            CREATE FUNCTION courier_append_message(
                p_id UUID, p_chat UUID, p_sender UUID, p_time BIGINT,
                p_content TEXT, p_kind TEXT, p_media_url TEXT, p_attachments TEXT, p_metadata TEXT,
                p_reply_to UUID, p_forwarded_from UUID, p_forwarded_from_sender UUID, p_client_msg_id TEXT,
                p_tokens BIGINT[], p_mentions TEXT[], p_may_post TEXT[], p_member_limit INTEGER
            ) RETURNS TABLE (
                chat_type TEXT, sender_role TEXT, members UUID[], appended_seq BIGINT, appended_pts BIGINT, appended_at BIGINT
            ) LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                v_member_count INTEGER;
            BEGIN
                SELECT c.type, c.member_count INTO chat_type, v_member_count FROM chats c WHERE c.id = p_chat FOR NO KEY UPDATE;
                IF NOT FOUND THEN
                    RETURN NEXT;
                    RETURN;
                END IF;
                IF v_member_count <= p_member_limit THEN
                    SELECT array_agg(m.user_id), max(m.role) FILTER (WHERE m.user_id = p_sender) INTO members, sender_role
                    FROM chat_members m WHERE m.chat_id = p_chat;
                ELSE
                    SELECT m.role INTO sender_role FROM chat_members m WHERE m.chat_id = p_chat AND m.user_id = p_sender;
                END IF;
                IF sender_role IS NULL OR NOT ((chat_type || ':' || sender_role) = ANY (p_may_post)) THEN
                    RETURN NEXT;
                    RETURN;
                END IF;
                UPDATE chats c SET last_seq = c.last_seq + 1, last_pts = c.last_pts + 1,
                    last_activity_at = GREATEST(c.last_activity_at, p_time)
                WHERE c.id = p_chat
                RETURNING c.last_seq, c.last_pts, c.last_activity_at INTO appended_seq, appended_pts, appended_at;
                INSERT INTO messages (id, chat_id, seq, sender_id, content, message_type, media_url, attachments, metadata,
                    reply_to_id, forwarded_from_id, forwarded_from_sender_id, client_msg_id, created_at, updated_at, edited_at, deleted_at)
                VALUES (p_id, p_chat, appended_seq, p_sender, p_content, p_kind, p_media_url, p_attachments, p_metadata,
                    p_reply_to, p_forwarded_from, p_forwarded_from_sender, p_client_msg_id, appended_at, appended_at, NULL, NULL);
                UPDATE chat_members m SET last_read_seq = appended_seq WHERE m.chat_id = p_chat AND m.user_id = p_sender;
                IF cardinality(p_tokens) > 0 THEN
                    INSERT INTO search_tokens (token, seq) SELECT t.token, appended_seq FROM unnest(p_tokens) AS t (token)
                    ON CONFLICT DO NOTHING;
                END IF;
                IF cardinality(p_mentions) > 0 THEN
                    INSERT INTO message_mentions (chat_id, user_id, seq, message_id)
                    SELECT m.chat_id, u.id, appended_seq, p_id FROM users u
                    JOIN chat_members m ON m.user_id = u.id AND m.chat_id = p_chat
                    WHERE u.username = ANY (p_mentions) AND u.id <> p_sender;
                END IF;
                INSERT INTO chat_updates (chat_id, pts, kind, message_id, user_id, value, detail, created_at)
                VALUES (p_chat, appended_pts, 'new_message', p_id, p_sender, appended_seq, NULL, appended_at);
                RETURN NEXT;
            END
            $$
            """,
        ]
    }
}
