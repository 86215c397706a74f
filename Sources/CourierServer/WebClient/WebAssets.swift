import Crypto
import Foundation
import NIOCore

/// The web client's files (HTML, CSS, JavaScript modules, icons), read once into memory. They are
/// small and few, so serving them never touches the disk; each carries a content hash for `ETag`.
public struct WebAssets: Sendable {
    /// One file ready to send.
    struct Asset: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
    }

    /// Asset paths relative to the web folder ("index.html", "assets/app.js").
    let assets: [String: Asset]

    /// Files larger than this are not part of a web client; refusing them keeps memory bounded.
    static let maximumFileBytes = 2 * 1024 * 1024

    /// The web client built with the server (the `Web` folder of this target), or none when it
    /// cannot be found (then `/` answers 404 `web_client_missing` and `serve` warns).
    public static let bundled: WebAssets = {
        for folder in bundledFolders where FileManager.default.fileExists(atPath: folder.path) {
            if let assets = try? WebAssets(folder: folder), assets.index != nil { return assets }
        }
        return WebAssets(assets: [:])
    }()

    /// Where the built web client may be. SwiftPM copies it into a resources folder next to the
    /// executable (keep the two together when installing `courier`); a build also still has its
    /// sources. `Bundle.module` is not used: it stops the process when its folder is missing.
    static var bundledFolders: [URL] {
        let executableFolder = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath().deletingLastPathComponent()
        let sourceFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        return [
            executableFolder.appendingPathComponent("Courier_CourierServer.resources/Web"),
            executableFolder.appendingPathComponent("Courier_CourierServer.bundle/Contents/Resources/Web"),
            executableFolder.appendingPathComponent("Courier_CourierServer.bundle/Web"),
            sourceFolder.appendingPathComponent("Web"),
        ]
    }

    /// Whether there is a web client to serve.
    public var isEmpty: Bool { index == nil }

    init(assets: [String: Asset]) {
        self.assets = assets
    }

    /// Reads every file under `folder` (for `COURIER_WEB_DIR`, a web client being worked on).
    public init(folder: URL) throws {
        let root = folder.standardizedFileURL.resolvingSymlinksInPath()
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey]) else {
            throw WebAssetsError(description: "Cannot read the web client folder \(folder.path).")
        }
        var assets: [String: Asset] = [:]
        for case let file as URL in walker {
            let values = try file.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
            guard values.isRegularFile == true, (values.fileSize ?? 0) <= Self.maximumFileBytes else { continue }
            // A link out of the folder is not part of the web client.
            let resolved = file.resolvingSymlinksInPath().path
            guard resolved.hasPrefix(root.path + "/") else { continue }
            let relative = String(resolved.dropFirst(root.path.count + 1))
            guard !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
            let data = try Data(contentsOf: file)
            let digest = SHA256.hash(data: data).prefix(12).map { String(format: "%02x", $0) }.joined()
            assets[relative] = Asset(
                body: ByteBuffer(bytes: data), contentType: Self.contentType(of: relative), etag: "\"\(digest)\""
            )
        }
        self.assets = assets
    }

    /// The page every client route starts from.
    var index: Asset? { assets["index.html"] }

    /// The file at `path` below the web folder, if the web client has it.
    func asset(at path: String) -> Asset? { assets[path] }

    static func contentType(of path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "json", "webmanifest": "application/json"
        case "txt": "text/plain; charset=utf-8"
        case "woff2": "font/woff2"
        default: "application/octet-stream"
        }
    }
}

/// The web client folder could not be read.
public struct WebAssetsError: Error, CustomStringConvertible {
    public let description: String
}
