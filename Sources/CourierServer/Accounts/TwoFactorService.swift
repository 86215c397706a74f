import CourierCore
import CourierStore
import Crypto
import Foundation
import HummingbirdOTP

/// TOTP (RFC 6238) two-factor authentication: enrolment with an `otpauth://` URI, confirmation
/// with a first code (which also hands out ten single-use recovery codes), checking codes at
/// sign-in, and turning it off with password and code.
public struct TwoFactorService: Sendable {
    let store: TwoFactorStore
    let users: UserStore
    let passwords: PasswordHasher
    let audit: AuditService
    let lockout: AccountLockout

    static let issuer = "Courier"
    static let timeStep: Int64 = 30
    static let recoveryCodeCount = 10

    /// An enrolment waiting for its first code.
    public struct Enrolment: Sendable {
        public let secret: String
        public let provisioningURI: String
    }

    public func isEnabled(_ userID: UUID) async throws -> Bool {
        try await store.state(of: userID)?.confirmed ?? false
    }

    /// Starts enrolment: a new random secret, shown once as an `otpauth://` URI (and its base32 text).
    public func begin(for userID: UUID) async throws -> Enrolment {
        if try await isEnabled(userID) {
            throw CourierError(.conflict, code: "two_factor_enabled", message: "Two-factor authentication is already on; turn it off first.")
        }
        guard let user = try await users.find(id: userID) else { throw CourierError.notFound("user") }
        let secret = Self.randomSecret()
        try await store.begin(userID, secret: secret, at: .now())
        let uri = TOTP(secret: secret).createAuthenticatorURL(label: "\(Self.issuer):\(user.username.value)", issuer: Self.issuer)
        return Enrolment(secret: String(base32Encoding: secret.utf8, options: .omitPaddingCharacter), provisioningURI: uri)
    }

    /// Confirms enrolment with a current code; returns the recovery codes (shown only now).
    public func confirm(for userID: UUID, code: String) async throws -> [String] {
        guard let state = try await store.state(of: userID), !state.confirmed else {
            throw CourierError(.conflict, code: "no_pending_enrolment", message: "Start the enrolment first.")
        }
        guard let step = Self.matchingStep(code, secret: state.secret, after: state.lastUsedStep) else { throw Self.wrongCode }
        let codes = (0..<Self.recoveryCodeCount).map { _ in Self.randomRecoveryCode() }
        try await store.confirm(userID, step: step, recoveryCodeHashes: codes.map(Self.hash), at: .now())
        await audit.record(.init(action: "two_factor_enabled", actorID: userID))
        return codes
    }

    /// Turns two-factor authentication off; needs the password and a current code (or a recovery code).
    ///
    /// A stolen access token must not become a way to guess the password: wrong passwords and codes
    /// count against the same per-account lock as sign-in (429 once locked), and every attempt is
    /// audited.
    public func disable(for userID: UUID, password: String, code: String?, recoveryCode: String?, ipAddress: String?) async throws {
        try await lockout.check(.user(userID))
        func refuse(_ error: CourierError) async -> CourierError {
            if error.code == "invalid_credentials" || error.code == Self.wrongCode.code { await lockout.recordFailure(.user(userID)) }
            await audit.record(.init(
                action: "two_factor_disabled", outcome: .failure, actorID: userID, ipAddress: ipAddress, details: ["reason": error.code]
            ))
            return error
        }
        let credentials = try await users.credentials(forID: userID)
        guard try await passwords.verify(password, against: credentials?.passwordHash) else {
            throw await refuse(CourierError.unauthorized("The password is not correct.", code: "invalid_credentials"))
        }
        do {
            try await verifySecondFactor(for: userID, code: code, recoveryCode: recoveryCode)
        } catch let error as CourierError {
            throw await refuse(error)
        }
        try await store.remove(userID)
        await lockout.reset(.user(userID))
        await audit.record(.init(action: "two_factor_disabled", actorID: userID, ipAddress: ipAddress))
    }

    /// Checks the second factor of a sign-in when the account has one: a TOTP code (each usable
    /// once) or an unused recovery code. Accounts without two-factor pass.
    func verifySecondFactor(for userID: UUID, code: String?, recoveryCode: String?) async throws {
        guard let state = try await store.state(of: userID), state.confirmed else { return }
        if let recoveryCode {
            guard try await store.useRecoveryCode(hash: Self.hash(recoveryCode), for: userID, at: .now()) else { throw Self.wrongCode }
            await audit.record(.init(action: "recovery_code_used", actorID: userID))
            return
        }
        guard let code else {
            throw CourierError.unauthorized("Enter the code from your authenticator app (totp_code) or a recovery code.", code: "two_factor_required")
        }
        guard let step = Self.matchingStep(code, secret: state.secret, after: state.lastUsedStep),
              try await store.use(step: step, for: userID)
        else { throw Self.wrongCode }
    }

    static let wrongCode = CourierError.unauthorized("The two-factor code is not correct.", code: "invalid_two_factor_code")

    /// The time step whose code matches, allowing one step of clock drift either way, and only
    /// steps after the last one used.
    static func matchingStep(_ code: String, secret: String, after lastUsed: Int64, at date: Date = Date()) -> Int64? {
        let digits = code.filter(\.isNumber)
        guard digits.count == 6, let value = Int(digits) else { return nil }
        let now = Int64(date.timeIntervalSince1970) / timeStep
        let totp = TOTP(secret: secret)
        for step in [now, now - 1, now + 1] where step > lastUsed {
            if totp.compute(date: Date(timeIntervalSince1970: TimeInterval(step * timeStep))) == value { return step }
        }
        return nil
    }

    private static func randomSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }

    private static func randomRecoveryCode() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        let characters = (0..<10).map { _ in alphabet.randomElement(using: &generator)! }
        return String(characters[0..<5]) + "-" + String(characters[5...])
    }

    /// The stored form of a recovery code; case and dashes do not matter.
    static func hash(_ recoveryCode: String) -> String {
        SecretToken.hash(recoveryCode.lowercased().filter { $0.isLetter || $0.isNumber })
    }
}
