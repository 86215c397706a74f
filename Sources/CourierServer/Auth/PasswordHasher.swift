import CourierCore
import HummingbirdBcrypt
import NIOPosix

/// bcrypt on NIO's thread pool: a hash at cost 12 takes about a quarter of a second of CPU, which
/// must never stall an event loop.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// A hash of a random password at the same cost, checked when an account does not exist so that a
    /// failed sign-in takes as long whether or not the account exists.
    private let decoyHash: String

    public init(cost: Int) async throws {
        let cost = UInt8(clamping: cost)
        self.cost = cost
        self.decoyHash = try await NIOThreadPool.singleton.runIfActive {
            Bcrypt.hash(SecretToken.random(), cost: cost)
        }
    }

    public func hash(_ password: Password) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password.value, cost: cost) }
    }

    /// Checks `password` against `hash`; with no hash, spends the same time and returns false.
    public func verify(_ password: String, against hash: String?) async throws -> Bool {
        let target = hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) }
        return matches && hash != nil
    }
}
