import NIOPosix

/// Threads for blocking file work: media chunks, the plaintext copies media processing reads and
/// writes. Reading or writing megabytes must hold neither one of the few threads Swift's tasks
/// share (in `courier serve`, NIO's event loops, which also carry every socket) nor one of
/// `NIOThreadPool.singleton`'s (which bcrypt uses).
///
/// One set per process, like NIO's own singletons: every blob store and media service of the
/// process shares it, so a process that assembles many of them (the test suite makes hundreds)
/// does not leak a pool each, and it is never shut down.
public enum FileThreads {
    /// Four threads: more file operations at once than two cores can use, few enough to cost
    /// nothing while idle.
    public static let shared: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()
}
