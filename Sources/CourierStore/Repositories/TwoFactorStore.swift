import CourierCore
import Foundation
import SQLKit

/// TOTP secrets (sealed with the account-secrets data key) and hashed recovery codes.
public struct TwoFactorStore: Sendable {
    let engine: any DatabaseEngine
    let keyring: Keyring

    public init(engine: any DatabaseEngine, keyring: Keyring) {
        self.engine = engine
        self.keyring = keyring
    }

    /// A user's TOTP state.
    public struct State: Sendable {
        public let secret: String
        public let confirmed: Bool
        public let lastUsedStep: Int64
    }

    private func context(_ userID: UUID) -> Keyring.FieldContext {
        .init(table: "two_factor", rowID: userID, scope: .accounts, field: "secret")
    }

    public func state(of userID: UUID) async throws -> State? {
        guard let row = try await engine.read({ sql in
            try await sql.raw("SELECT secret, confirmed_at, last_used_step FROM two_factor WHERE user_id = \(bind: userID)").first()
        }) else { return nil }
        return State(
            secret: try await keyring.open(try row.decode(column: "secret", as: String.self), context(userID)) ?? "",
            confirmed: try row.decode(column: "confirmed_at", as: Int64?.self) != nil,
            lastUsedStep: try row.decode(column: "last_used_step", as: Int64.self)
        )
    }

    /// Starts (or restarts) an enrolment that is not confirmed yet.
    public func begin(_ userID: UUID, secret: String, at time: Timestamp) async throws {
        let sealed = try await keyring.seal(secret, context(userID))
        try await engine.write { sql in
            try await sql.raw("DELETE FROM two_factor WHERE user_id = \(bind: userID) AND confirmed_at IS NULL").run()
            try await sql.raw("""
                INSERT INTO two_factor (user_id, secret, confirmed_at, last_used_step, created_at)
                VALUES (\(bind: userID), \(bind: sealed), NULL, 0, \(bind: time.milliseconds))
                """).run()
        }
    }

    /// Confirms the enrolment with the step of a valid code, and stores the recovery code hashes.
    public func confirm(_ userID: UUID, step: Int64, recoveryCodeHashes: [String], at time: Timestamp) async throws {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE two_factor SET confirmed_at = \(bind: time.milliseconds), last_used_step = \(bind: step) WHERE user_id = \(bind: userID)
                """).run()
            try await sql.raw("DELETE FROM recovery_codes WHERE user_id = \(bind: userID)").run()
            for hash in recoveryCodeHashes {
                try await sql.raw("INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES (\(bind: userID), \(bind: hash), NULL)").run()
            }
        }
    }

    /// Records a code's time step as used; false when it (or a later one) was used already: no replays.
    public func use(step: Int64, for userID: UUID) async throws -> Bool {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE two_factor SET last_used_step = \(bind: step)
                WHERE user_id = \(bind: userID) AND last_used_step < \(bind: step) RETURNING user_id
                """).first() != nil
        }
    }

    /// Spends a recovery code; false when it does not exist or was used.
    public func useRecoveryCode(hash: String, for userID: UUID, at time: Timestamp) async throws -> Bool {
        try await engine.write { sql in
            try await sql.raw("""
                UPDATE recovery_codes SET used_at = \(bind: time.milliseconds)
                WHERE user_id = \(bind: userID) AND code_hash = \(bind: hash) AND used_at IS NULL RETURNING user_id
                """).first() != nil
        }
    }

    /// Turns two-factor authentication off and forgets its secret and codes.
    public func remove(_ userID: UUID) async throws {
        try await engine.write { sql in
            try await sql.raw("DELETE FROM recovery_codes WHERE user_id = \(bind: userID)").run()
            try await sql.raw("DELETE FROM two_factor WHERE user_id = \(bind: userID)").run()
        }
    }
}
