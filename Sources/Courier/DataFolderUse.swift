import ArgumentParser
import CourierServer
import Foundation

/// Takes the data folder's lock shared for a command that opens the server's data (`serve`,
/// `migrate`, `keys rotate`), so that `courier restore` never writes under it, nor it under a
/// restore. The command holds the returned lock until it ends.
func useDataFolder(_ configuration: ServerConfiguration) throws -> DataFolderLock {
    try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    guard let lock = try DataFolderLock(path: DataFolderLock.path(in: configuration.dataDirectory), mode: .shared) else {
        throw ValidationError("A restore is writing into \(configuration.dataDirectory); try again when it is done.")
    }
    return lock
}
