import CourierCore
import Foundation

/// Locks an account after repeated failed proofs (wrong password, wrong second-factor code), for
/// sign-in and for turning two-factor authentication off alike.
///
/// Failures count against the account, not the name it was given by: the username, phone number
/// and e-mail address of one account share one budget. A name that belongs to no account gets a
/// budget of its own, so a locked and an unknown account cannot be told apart by their answers.
struct AccountLockout: Sendable {
    let limiter: RateLimiter

    /// Whose failures are counted.
    enum Account: Sendable {
        case user(UUID)
        case unknown(LoginIdentifier)

        var key: String {
            switch self {
            case .user(let id): "account-failures:\(id.lowercasedString)"
            case .unknown(let identifier): "account-failures:unknown:\(identifier)"
            }
        }
    }

    /// 429 while the account is locked.
    func check(_ account: Account) async throws(CourierError) {
        try await limiter.check(account.key, limiter.settings.loginFailuresPerAccount)
    }

    /// Counts a failure; the one that uses up the budget locks the account.
    func recordFailure(_ account: Account) async {
        try? await limiter.take(account.key, limiter.settings.loginFailuresPerAccount)
    }

    /// A success clears the failures.
    func reset(_ account: Account) async {
        await limiter.reset(account.key)
    }
}
