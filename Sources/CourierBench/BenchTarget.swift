import AsyncHTTPClient
import CourierClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// The server under test, reached over its public API only.
public struct BenchTarget: Sendable {
    public let baseURL: String
    public let host: String
    public let port: Int
    let client: CourierClient

    public init(baseURL: String) throws {
        guard let url = URL(string: baseURL), let host = url.host, url.scheme == "http" else {
            throw BenchError("--url must be an http:// address, like http://127.0.0.1:8080 (the bench talks plain HTTP on loopback).")
        }
        self.baseURL = baseURL
        self.host = host
        self.port = url.port ?? 80
        self.client = CourierClient(baseURL: baseURL)
    }

    /// Which database the server runs on, from `/health`; also checks it is up.
    public func databaseEngine() async throws -> String {
        struct Health: Decodable { let status: String; let database: String? }
        do {
            let health: Health = try await client.call(.GET, "/health")
            return health.database ?? "unknown"
        } catch {
            throw BenchError("The server at \(baseURL) does not answer /health: \(error)")
        }
    }
}

/// A signed-up user of a benchmark run.
struct BenchUser: Sendable {
    let id: String
    let username: String
    let token: String
}

/// The throwaway accounts of one benchmark run: `bench<tag>_<n>` with phone numbers of their own,
/// so runs against the same server never clash.
struct BenchAccounts: Sendable {
    /// Every bench account's password.
    static let password = "bench-password-1"

    let prefix = "bench" + String(UInt32.random(in: 0..<UInt32.max), radix: 36)
    private let phoneBase = UInt64.random(in: 1_000_000...9_999_999) * 100_000

    func username(_ index: Int) -> String { "\(prefix)_\(index)" }
    func phone(_ index: Int) -> String { "+1\(phoneBase + UInt64(index))" }
}

extension BenchTarget {
    /// Signs up the first `count` of `accounts`, `concurrency` at a time.
    func registerUsers(count: Int, of accounts: BenchAccounts = BenchAccounts(), concurrency: Int) async throws -> [BenchUser] {
        try await concurrentMap(0..<count, concurrency: concurrency) { index in
            let signedIn = try await register(index, of: accounts)
            return BenchUser(id: signedIn.user.id, username: signedIn.user.username, token: signedIn.token)
        }
    }

    /// Signs up account `index` of `accounts`, explaining a rate limit.
    func register(_ index: Int, of accounts: BenchAccounts) async throws -> SignedIn {
        do {
            return try await client.register(username: accounts.username(index), phone: accounts.phone(index), password: BenchAccounts.password)
        } catch let error as CourierAPIError where error.status == 429 {
            throw BenchError("The server rate-limits sign-ups; start it with COURIER_RATE_LIMITS=off for benchmarks.")
        }
    }
}

/// `transform` over `items`, at most `concurrency` at once, results in input order.
func concurrentMap<Item: Sendable, Result: Sendable>(
    _ items: some Collection<Item>, concurrency: Int, _ transform: @escaping @Sendable (Item) async throws -> Result
) async throws -> [Result] {
    let items = Array(items)
    return try await withThrowingTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: items.count)
        var next = 0
        while next < min(concurrency, items.count) {
            let index = next
            group.addTask { (index, try await transform(items[index])) }
            next += 1
        }
        while let (index, result) = try await group.next() {
            results[index] = result
            if next < items.count {
                let index = next
                group.addTask { (index, try await transform(items[index])) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}
