/// Runs `work` in a child task and returns its result.
///
/// A Swift task keeps the memory its deepest chain of calls needed until the task ends, and a
/// WebSocket connection's task lives as long as the connection. One-off deep work (checking the
/// token, reading the database, handling a frame) therefore runs in a child task, which gives that
/// memory back as soon as the work is done: an idle connection then costs a shallow task, not the
/// deepest request it ever served.
///
/// Never inlined: the storage of the `async let` would then sit in the caller's frame, which, for
/// the connection's reader, lives as long as the connection.
@inline(never)
func inChildTask<Result: Sendable>(_ work: @escaping @Sendable () async throws -> Result) async throws -> Result {
    async let result = work()
    return try await result
}

/// `inChildTask` for work that cannot fail.
@inline(never)
func inChildTask<Result: Sendable>(_ work: @escaping @Sendable () async -> Result) async -> Result {
    async let result = work()
    return await result
}
