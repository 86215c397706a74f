import SQLKit

/// PostgreSQL advisory locks that serialise a step across the nodes of one deployment.
///
/// Each lock is keyed by its purpose *and* the schema (`current_schema()`): the nodes of one
/// deployment share a schema and exclude each other, while deployments that share a database in
/// schemas of their own (the test suite runs a hundred at once) never wait for one another. A
/// lock held across deployments also joined their fates: one stuck transaction stopped every
/// other deployment's migrations and audit writes, each waiter holding a connection meanwhile.
enum AdvisoryLock: Int32 {
    /// Applying one migration step. (`DeploymentLease` holds 0x436F7572, "Cour", with the same
    /// second key for as long as a node leads: keep these two apart from it.)
    case migrations = 1131377010
    /// Appending to (or re-sealing) the audit chain, so it never forks.
    case audit = 1131377011

    /// Takes the lock for the rest of the current transaction (PostgreSQL only).
    func acquireForTransaction(_ sql: any SQLDatabase) async throws {
        try await sql.raw(
            "SELECT pg_advisory_xact_lock(\(unsafeRaw: String(rawValue)), coalesce(hashtext(current_schema()), 0))"
        ).run()
    }
}
