import CourierCore
import CourierStore
import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Uploads, processing, downloads and the life of media files. Every rule about media lives here:
/// limits and quota, who may download what, which media a message may carry, when files go.
///
/// An upload's id is its media's id: once complete, `GET /media/{id}` finds it.
public final class MediaService: Sendable {
    let store: MediaStore
    let blobs: any BlobStore
    let settings: MediaSettings
    let premium: PremiumService
    let processor: MediaProcessor
    let links: MediaLinkSigner
    /// Where plaintext copies for processing live while a job runs (removed when it ends, and
    /// emptied when the node starts).
    let workFolder: URL
    let logger: Logger
    /// Counts bytes uploaded and times processing; set once, when the node is assembled.
    let metrics: ServerMetrics?
    /// Threads for the plaintext copies and the files tools made: reading or writing hundreds of
    /// megabytes must not hold one of the few threads Swift's tasks share.
    private let fileThreads = FileThreads.shared
    /// SHA-256 of each upload's bytes so far, kept while this node receives it, so finishing an
    /// upload needs no second read; after a restart the bytes are read again instead.
    private let runningHashes = Mutex<[UUID: (offset: Int64, hash: SHA256)]>([:])
    /// Uploads a request is writing or finishing on this node: a second one at once is refused.
    private let busy = Mutex<Set<UUID>>([])
    /// Processing jobs running per person on this node.
    private let processingJobs = Mutex<[UUID: Int]>([:])
    /// Wakes the background worker (a video's 720p variant) on this node.
    let work = Wakeup()
    /// Tells every node that background work was queued (the worker runs on one of them).
    let announceWork: @Sendable () async -> Void

    public init(
        store: MediaStore, blobs: any BlobStore, settings: MediaSettings, premium: PremiumService, linkKey: SymmetricKey,
        workFolder: String, announceWork: @escaping @Sendable () async -> Void, metrics: ServerMetrics? = nil, logger: Logger
    ) {
        self.announceWork = announceWork
        self.metrics = metrics
        self.store = store
        self.blobs = blobs
        self.settings = settings
        self.premium = premium
        self.processor = MediaProcessor(settings: settings)
        self.links = MediaLinkSigner(key: linkKey)
        self.workFolder = URL(fileURLWithPath: workFolder, isDirectory: true)
        self.logger = logger
        // Plaintext left by a job that a crash interrupted goes before anything else happens.
        try? FileManager.default.removeItem(at: self.workFolder)
    }

    // MARK: Creating uploads

    /// What a client declares when it starts an upload.
    public struct UploadRequest: Sendable {
        public var size: Int64
        public var mimeType: String
        public var fileName: String
        public var sha256: String
        public var kind: MediaKind

        public init(size: Int64, mimeType: String, fileName: String, sha256: String, kind: MediaKind) {
            self.size = size
            self.mimeType = mimeType
            self.fileName = fileName
            self.sha256 = sha256
            self.kind = kind
        }
    }

    /// Starts an upload; a file over the size limit or the quota is refused here (413), before any
    /// byte is sent.
    public func createUpload(_ request: UploadRequest, for userID: UUID) async throws -> MediaStore.Record {
        let mimeType = try Self.validMimeType(request.mimeType, for: request.kind)
        let fileName = try Self.validFileName(request.fileName)
        let sha256 = request.sha256.lowercased()
        guard sha256.utf8.count == 64, sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw CourierError.invalid("sha256", "sha256 must be the file's SHA-256 as 64 hexadecimal digits.")
        }
        guard request.size >= 1 else { throw CourierError.invalid("size", "size must be at least 1 byte.") }
        let isPremium = try await premium.expireAndCheckPremium(userID)
        let limit = isPremium ? settings.maxFileBytesPremium : settings.maxFileBytes
        guard request.size <= limit else {
            throw CourierError(
                .payloadTooLarge, code: "file_too_large",
                message: "Files may be at most \(Self.describe(limit))\(isPremium ? "" : " (\(Self.describe(settings.maxFileBytesPremium)) with premium)").",
                field: "size"
            )
        }
        let quota = isPremium ? settings.quotaBytesPremium : settings.quotaBytes
        let now = Timestamp.now()
        let attachment = MediaAttachment(id: UUID.random(), kind: request.kind, mimeType: mimeType, size: request.size, fileName: fileName)
        do {
            return try await store.createUpload(
                ownerID: userID, info: .init(attachment: attachment, sha256: sha256), quota: quota, at: now,
                expiresAt: now.adding(settings.uploadLifetime)
            )
        } catch MediaStore.CreateRefusal.quotaExceeded(let used) {
            throw CourierError(
                .payloadTooLarge, code: "media_quota_exceeded",
                message: "This file does not fit your storage: \(Self.describe(used)) of \(Self.describe(quota)) used.", field: "size"
            )
        } catch MediaStore.CreateRefusal.tooManyPending {
            throw CourierError(
                .conflict, code: "too_many_uploads",
                message: "You have \(MediaLimits.maxPendingUploads) unfinished uploads; finish or cancel one first."
            )
        }
    }

    /// The caller's upload in progress (404 for anyone else's, a finished one, or an expired one).
    public func upload(_ id: UUID, for userID: UUID) async throws -> MediaStore.Record {
        guard let record = try await store.record(id), record.ownerID == userID, record.state == .uploading,
              (record.expiresAt?.milliseconds ?? .max) > Timestamp.now().milliseconds
        else { throw CourierError.notFound("upload") }
        return record
    }

    /// Cancels an upload in progress and frees its bytes.
    public func cancel(_ id: UUID, for userID: UUID) async throws {
        try await claim(id)
        defer { release(id) }
        try await remove(try await upload(id, for: userID))
    }

    // MARK: Receiving bytes

    /// Appends `body` to the upload at `offset`, which must be the stored offset. Complete chunks
    /// are encrypted and stored as they fill, and the offset moves with them, so memory stays at
    /// one chunk whatever the size, and a dropped connection keeps what arrived. Returns the new
    /// offset.
    public func append<Body: AsyncSequence & Sendable>(
        to id: UUID, at offset: Int64, declaredLength: Int64?, body: Body, for userID: UUID
    ) async throws -> Int64 where Body.Element == ByteBuffer {
        // Claimed first and read once: what is read then is what this request writes after (an
        // id that is not the caller's upload is released at once with a 404).
        try await claim(id)
        defer { release(id) }
        let record = try await upload(id, for: userID)
        guard offset == record.received else { throw Self.offsetMismatch(record.received) }
        if let declaredLength, declaredLength > record.size - offset {
            throw CourierError(.payloadTooLarge, code: "upload_too_long", message: "The bytes go past the upload's declared size of \(record.size).")
        }
        // A part is free of the request budget because it carries a file; one that carries almost
        // nothing and is not the last rewrites a chunk for a few bytes: it costs a request, taken
        // before anything is stored.
        if let declaredLength, declaredLength < Self.freePartBytes, offset + declaredLength < record.size {
            try await premium.takeRequestBudget(of: userID)
        }
        let chunkSize = Int64(MediaCipher.chunkSize)
        let cipher = MediaCipher(key: record.fileKey, blob: id, size: record.size)
        var index = Int(offset / chunkSize)
        var pending: [UInt8] = []
        pending.reserveCapacity(MediaCipher.chunkSize)
        if offset % chunkSize != 0 {
            guard let stored = try await blobs.get(blob: Self.blobName(id), chunk: index) else { throw MediaIntegrityError(blob: id, chunk: index) }
            pending = try cipher.open(stored, index: index)
            // A crash between storing a longer version of this chunk and moving the offset leaves
            // more bytes than the offset says: the stored offset wins (the client resends the rest).
            guard pending.count >= Int(offset % chunkSize) else { throw MediaIntegrityError(blob: id, chunk: index) }
            pending.removeSubrange(Int(offset % chunkSize)...)
        }
        // The running hash continues only from where it stopped (a fresh upload starts one).
        var hash = runningHashes.withLock { $0[id] }.flatMap { $0.offset == offset ? $0.hash : nil } ?? (offset == 0 ? SHA256() : nil)
        // The offset the database holds, and the move of it that is under way: a chunk's offset is
        // committed while the next chunk is read and stored (one move in flight, in order). A crash
        // in between leaves chunks past the stored offset, which the resumed upload writes again.
        var committed = offset
        var moving: (task: Task<Bool, any Error>, end: Int64)?

        func settle() async throws {
            guard let move = moving else { return }
            moving = nil
            // Someone else moved the offset (another node, or the upload ended): say where it is now.
            guard try await move.task.value else { throw Self.offsetMismatch(try await store.record(id)?.received) }
            committed = move.end
        }

        /// Stores the chunk being filled and starts moving the stored offset to its end.
        func flush() async throws {
            guard !pending.isEmpty else { return }
            try await blobs.put(blob: Self.blobName(id), chunk: index, bytes: try cipher.seal(pending, index: index))
            let end = Int64(index) * chunkSize + Int64(pending.count)
            try await settle()
            let (store, from) = (self.store, committed)
            moving = (Task { try await store.advance(id, from: from, to: end) }, end)
            if pending.count == MediaCipher.chunkSize {
                index += 1
                pending.removeAll(keepingCapacity: true)
            }
        }

        do {
            for try await buffer in body {
                var buffer = buffer
                let total = Int64(index) * chunkSize + Int64(pending.count) + Int64(buffer.readableBytes)
                guard total <= record.size else {
                    throw CourierError(.payloadTooLarge, code: "upload_too_long", message: "The bytes go past the upload's declared size of \(record.size).")
                }
                buffer.withUnsafeReadableBytes { hash?.update(bufferPointer: $0) }
                while buffer.readableBytes > 0 {
                    let take = min(buffer.readableBytes, MediaCipher.chunkSize - pending.count)
                    buffer.withUnsafeReadableBytes { pending.append(contentsOf: $0.prefix(take)) }
                    buffer.moveReaderIndex(forwardBy: take)
                    if pending.count == MediaCipher.chunkSize { try await flush() }
                }
            }
            try await flush()
            try await settle()
        } catch {
            // Keep what arrived before the drop: the client resumes from the stored offset.
            runningHashes.withLock { _ = $0.removeValue(forKey: id) }
            try? await flush()
            try? await settle()
            metrics?.uploadBytes.increment(by: Int(committed - offset))
            throw error
        }
        metrics?.uploadBytes.increment(by: Int(committed - offset))
        runningHashes.withLock { state in
            if let hash { state[id] = (committed, hash) } else { state.removeValue(forKey: id) }
        }
        // A part without a declared length that carried almost nothing is charged now (see above).
        if declaredLength == nil, committed - offset < Self.freePartBytes, committed < record.size {
            try await premium.takeRequestBudget(of: userID)
        }
        return committed
    }

    // MARK: Finishing uploads

    /// Finishes an upload whose bytes all arrived: checks its SHA-256, processes it for its kind
    /// and makes it media. A file that fails the check or cannot be processed is removed (422).
    public func complete(_ id: UUID, for userID: UUID) async throws -> MediaAttachment {
        try await claim(id)
        defer { release(id) }
        let record = try await upload(id, for: userID)
        guard record.received == record.size else {
            throw CourierError(.conflict, code: "upload_incomplete", message: "\(record.received) of \(record.size) bytes have arrived; send the rest first.")
        }
        let known = runningHashes.withLock { $0.removeValue(forKey: id) }
        let digest: String
        if let known, known.offset == record.size {
            digest = Self.hex(known.hash.finalize())
        } else {
            var hash = SHA256()
            try await readChunks(of: record, blob: id, size: record.size) { chunk in chunk.withUnsafeBytes { hash.update(bufferPointer: $0) } }
            digest = Self.hex(hash.finalize())
        }
        guard digest == record.info.sha256 else {
            try await remove(record)
            throw CourierError(.unprocessable, code: "hash_mismatch", message: "The bytes received do not have the SHA-256 declared; upload the file again.", field: "sha256")
        }
        var info = record.info
        var stored: [MediaStore.Blob] = []
        var pendingWork: String?
        var keepsOriginal = true
        if record.kind != .file {
            let result: MediaProcessor.Result
            do {
                // The outputs are files in the job's folder: stored before it goes.
                (result, stored) = try await processingTurn(of: userID) {
                    try await withPlaintextCopy(of: record, blob: MediaStore.Blob(variant: MediaVariant.original, blobID: id, size: record.size)) { input, folder in
                        let started = ContinuousClock.now
                        let result = try await processor.process(input, kind: record.kind, in: folder)
                        metrics?.mediaProcessing.record(.now - started)
                        var stored: [MediaStore.Blob] = []
                        do {
                            for output in result.outputs { stored.append(try await storeVariant(output, key: record.fileKey)) }
                        } catch {
                            await removeBlobs(stored)
                            throw error
                        }
                        return (result, stored)
                    }
                }
            } catch let failure as ExternalCommand.Failure where failure.isMissingTool {
                // The server's fault, not the file's: the upload stays, to be completed once the
                // operator installs the tool.
                logger.error("media processing needs a tool that is not installed", metadata: ["error": "\(failure)"])
                throw CourierError(.unavailable, code: "media_processing_unavailable", message: "This server cannot process a \(record.kind.rawValue) right now; try again later or send it as a file.")
            } catch let refusal as MediaProcessor.Unprocessable {
                try await remove(record)
                throw CourierError(.unprocessable, code: "media_unprocessable", message: "This is not a usable \(record.kind.rawValue): \(refusal.reason).")
            } catch let failure as ExternalCommand.Failure {
                logger.warning("media processing failed", metadata: ["media": "\(id)", "error": "\(failure)"])
                try await remove(record)
                throw CourierError(.unprocessable, code: "media_unprocessable", message: "This \(record.kind.rawValue) could not be processed.")
            }
            info.attachment.width = result.width
            info.attachment.height = result.height
            info.attachment.duration = result.duration
            info.attachment.waveform = result.waveform
            info.attachment.preview = result.preview
            info.attachment.variants += result.outputs.map(\.variant)
            pendingWork = result.pendingWork
            keepsOriginal = result.keepsOriginal
        }
        if keepsOriginal {
            stored.insert(MediaStore.Blob(variant: MediaVariant.original, blobID: id, size: record.size), at: 0)
            info.attachment.variants.insert(MediaVariant(name: MediaVariant.original, mimeType: info.attachment.mimeType, size: record.size, width: info.attachment.width, height: info.attachment.height), at: 0)
        }
        let completed: Bool
        do {
            completed = try await store.complete(id, info: info, blobs: stored, pendingWork: pendingWork, at: .now())
        } catch {
            await removeBlobs(stored.filter { $0.blobID != id })
            throw error
        }
        guard completed else {
            await removeBlobs(stored.filter { $0.blobID != id })
            throw CourierError.notFound("upload")
        }
        if !keepsOriginal {
            try await blobs.delete(blob: Self.blobName(id), chunkCount: MediaCipher.chunkCount(size: record.size))
        }
        if pendingWork != nil { await announceWork() }
        return info.attachment
    }

    /// Encrypts and stores a file a job made, a chunk at a time.
    private func storeVariant(_ output: MediaProcessor.Output, key: SymmetricKey) async throws -> MediaStore.Blob {
        let blobID = UUID.random()
        let size = output.variant.size
        let cipher = MediaCipher(key: key, blob: blobID, size: size)
        let handle = try FileHandle(forReadingFrom: output.file)
        defer { try? handle.close() }
        do {
            for index in 0..<cipher.chunkCount {
                let plain = try await fileThreads.runIfActive { try handle.read(upToCount: MediaCipher.chunkSize) ?? Data() }
                guard plain.count == min(MediaCipher.chunkSize, Int(size - Int64(index) * Int64(MediaCipher.chunkSize))) else {
                    throw ExternalCommand.Failure(tool: "courier", reason: "the \(output.variant.name) file changed while it was stored")
                }
                try await blobs.put(blob: Self.blobName(blobID), chunk: index, bytes: try cipher.seal(plain, index: index))
            }
        } catch {
            try? await blobs.delete(blob: Self.blobName(blobID), chunkCount: cipher.chunkCount)
            throw error
        }
        return MediaStore.Blob(variant: output.variant.name, blobID: blobID, size: size)
    }

    // MARK: Reading

    /// The caller's view of media `id` (404 when it does not exist, is unfinished, or the caller
    /// may not see it).
    public func media(_ id: UUID, for userID: UUID) async throws -> MediaStore.Record {
        guard let record = try await store.record(id), record.state == .ready, try await store.canAccess(id, userID: userID) else {
            throw CourierError.notFound("media")
        }
        return record
    }

    /// A signed link to a variant of media the caller may see.
    public func link(_ id: UUID, variant: String?, for userID: UUID) async throws -> (path: String, expires: Timestamp) {
        let record = try await media(id, for: userID)
        let name = variant ?? record.info.attachment.defaultVariant
        guard record.blob(name) != nil else { throw Self.noSuchVariant(name) }
        let expires = Timestamp.now().adding(settings.linkLifetime)
        let seconds = expires.milliseconds / 1000
        let signature = links.signature(media: id, variant: name, user: userID, expires: seconds)
        let path = "/media/\(id.lowercasedString)?variant=\(name)&expires=\(seconds)&user=\(userID.lowercasedString)&sig=\(signature)"
        return (path, Timestamp(milliseconds: seconds * 1000))
    }

    /// Checks a signed link and answers who it was made for (401 when it is not valid or has expired).
    public func verifyLink(_ id: UUID, variant: String, user: String?, expires: String?, signature: String?) throws -> UUID {
        guard let user = user.flatMap(UUID.init(uuidString:)), let expires = expires.flatMap(Int64.init), let signature,
              links.isValid(signature.lowercased(), media: id, variant: variant, user: user, expires: expires)
        else { throw CourierError.unauthorized("This download link is not valid.", code: "link_invalid") }
        guard expires > Timestamp.now().milliseconds / 1000 else {
            throw CourierError.unauthorized("This download link has expired; ask for a new one.", code: "link_expired")
        }
        return user
    }

    /// A stored form of a file, ready to send.
    public struct Download: Sendable {
        public let attachment: MediaAttachment
        public let variant: MediaVariant
        public let blob: MediaStore.Blob
        let key: SymmetricKey
    }

    /// The variant (default: the attachment's default) of media the caller may see.
    public func download(_ id: UUID, variant: String?, for userID: UUID) async throws -> Download {
        let record = try await media(id, for: userID)
        let name = variant ?? record.info.attachment.defaultVariant
        guard let blob = record.blob(name), let described = record.info.attachment.variants.first(where: { $0.name == name }) else {
            throw Self.noSuchVariant(name)
        }
        return Download(attachment: record.info.attachment, variant: described, blob: blob, key: record.fileKey)
    }

    /// The first chunk of `range`, opened: read before the response starts, so a file that fails
    /// its integrity check is a clean error rather than a cut connection.
    public func firstChunk(of download: Download, range: ClosedRange<Int64>) async throws -> [UInt8] {
        try await chunk(Int(range.lowerBound / Int64(MediaCipher.chunkSize)), of: download)
    }

    /// Decrypts `range` of a download chunk by chunk into `write` (starting with `first`, from
    /// `firstChunk`): memory stays at one chunk.
    public func stream(_ download: Download, range: ClosedRange<Int64>, first: [UInt8], into write: (ByteBuffer) async throws -> Void) async throws {
        let chunkSize = Int64(MediaCipher.chunkSize)
        var index = Int(range.lowerBound / chunkSize)
        var plain = first
        while true {
            let chunkStart = Int64(index) * chunkSize
            let from = Int(max(range.lowerBound, chunkStart) - chunkStart)
            let to = Int(min(range.upperBound, chunkStart + Int64(plain.count) - 1) - chunkStart)
            try await write(ByteBuffer(bytes: plain[from...to]))
            index += 1
            guard Int64(index) * chunkSize <= range.upperBound else { return }
            plain = try await chunk(index, of: download)
        }
    }

    private func chunk(_ index: Int, of download: Download) async throws -> [UInt8] {
        try await openChunk(index, blob: download.blob.blobID, size: download.blob.size, key: download.key)
    }

    /// Chunk `index` of a stored blob of `size` bytes, opened and checked: every chunk is full but
    /// the last, which holds the rest; anything else was cut, padded, moved or tampered with.
    private func openChunk(_ index: Int, blob: UUID, size: Int64, key: SymmetricKey) async throws -> [UInt8] {
        let cipher = MediaCipher(key: key, blob: blob, size: size)
        guard let sealed = try await blobs.get(blob: Self.blobName(blob), chunk: index) else {
            throw MediaIntegrityError(blob: blob, chunk: index)
        }
        let plain = try cipher.open(sealed, index: index)
        guard Int64(plain.count) == min(Int64(MediaCipher.chunkSize), size - Int64(index) * Int64(MediaCipher.chunkSize)) else {
            throw MediaIntegrityError(blob: blob, chunk: index)
        }
        return plain
    }

    // MARK: Messages

    /// The attachments a message from `senderID` to `chatID` may carry, in order: finished media
    /// the sender uploaded, or media a message of that chat already carries.
    public func attachable(_ ids: [String], from senderID: UUID, to chatID: UUID) async throws -> [MediaAttachment] {
        let uuids = ids.compactMap(UUID.init(uuidString:))
        let inChat = try await store.carried(uuids, inChat: chatID)
        var result: [MediaAttachment] = []
        for id in uuids {
            guard let record = try await store.record(id), record.state == .ready, record.ownerID == senderID || inChat.contains(id) else {
                throw CourierError.invalid("attachments", "Attachments must be finished uploads of yours (or media already in this chat); \(id.lowercasedString) is not.")
            }
            result.append(record.info.attachment)
        }
        return result
    }

    // MARK: Housekeeping

    /// Removes expired uploads, media no message carries a day after upload, and media of
    /// messages deleted for everyone after the purge period. Returns how many went.
    @discardableResult
    public func collectGarbage(now: Timestamp = .now()) async throws -> Int {
        var removed = 0
        while true {
            let ids = try await store.collectable(
                now: now, unreferencedAfter: settings.unreferencedLifetime, deletedAfter: settings.purgeDeletedAfter, limit: 100
            )
            for id in ids {
                guard let record = try await store.record(id) else { continue }
                try await remove(record)
                removed += 1
            }
            if ids.count < 100 { return removed }
        }
    }

    /// Does background work left by processing (a video's 720p variant), a file at a time.
    func doPendingWork() async throws {
        for id in try await store.pendingWork(limit: 8) {
            guard let record = try await store.record(id), let original = record.blob(MediaVariant.original) else {
                try await store.clearPendingWork(id)
                continue
            }
            do {
                let (variant, blob) = try await withPlaintextCopy(of: record, blob: original) { input, folder in
                    let output = try await processor.transcode720p(input, in: folder)
                    return (output.variant, try await storeVariant(output, key: record.fileKey))
                }
                var info = record.info
                info.attachment.variants.append(variant)
                do {
                    try await store.addVariant(id, blob: blob, info: info)
                } catch {
                    await removeBlobs([blob])
                    throw error
                }
            } catch {
                // Stopped by a shutdown: the work stays pending, to be done after the restart.
                if Task.isCancelled { throw CancellationError() }
                logger.warning("video transcoding failed", metadata: ["media": "\(id)", "error": "\(error)"])
                try await store.clearPendingWork(id)
            }
        }
    }

    /// Removes stored forms that never made it into the database.
    private func removeBlobs(_ stored: [MediaStore.Blob]) async {
        for blob in stored {
            try? await blobs.delete(blob: Self.blobName(blob.blobID), chunkCount: MediaCipher.chunkCount(size: blob.size))
        }
    }

    /// Runs a processing job of `userID`'s, at most two of theirs at once: one person's uploads
    /// cannot fill every processing slot (429 `processing_busy` for a third).
    private func processingTurn<T: Sendable>(of userID: UUID, _ job: () async throws -> T) async throws -> T {
        let admitted = processingJobs.withLock { jobs -> Bool in
            guard jobs[userID, default: 0] < 2 else { return false }
            jobs[userID, default: 0] += 1
            return true
        }
        guard admitted else {
            throw CourierError(.tooManyRequests(retryAfterSeconds: 2), code: "processing_busy", message: "Two of your files are being processed; finish this one in a moment.")
        }
        defer {
            processingJobs.withLock { jobs in
                jobs[userID, default: 1] -= 1
                if jobs[userID] == 0 { jobs.removeValue(forKey: userID) }
            }
        }
        return try await job()
    }

    /// Deletes a media file's bytes, every form of them, then its row.
    private func remove(_ record: MediaStore.Record) async throws {
        runningHashes.withLock { _ = $0.removeValue(forKey: record.id) }
        try await blobs.delete(blob: Self.blobName(record.id), chunkCount: MediaCipher.chunkCount(size: record.size))
        for blob in record.blobs where blob.blobID != record.id {
            try await blobs.delete(blob: Self.blobName(blob.blobID), chunkCount: MediaCipher.chunkCount(size: blob.size))
        }
        try await store.delete(record.id)
    }

    // MARK: Helpers

    /// Reads the plaintext of `blob` (`size` bytes) chunk by chunk.
    private func readChunks(of record: MediaStore.Record, blob: UUID, size: Int64, _ body: ([UInt8]) throws -> Void) async throws {
        for index in 0..<MediaCipher.chunkCount(size: size) {
            try body(try await openChunk(index, blob: blob, size: size, key: record.fileKey))
        }
    }

    /// Runs `work` on a plaintext copy of the file in a private folder that is removed afterwards.
    /// The folder's making and removing (a transcode can leave hundreds of megabytes in it) run on
    /// the file threads, not on the event loop the request came in on.
    private func withPlaintextCopy<T: Sendable>(of record: MediaStore.Record, blob: MediaStore.Blob, _ work: (URL, URL) async throws -> T) async throws -> T {
        let folder = workFolder.appendingPathComponent(UUID.random().lowercasedString, isDirectory: true)
        let input = folder.appendingPathComponent("input")
        let handle = try await fileThreads.runIfActive { [workFolder] in
            if !FileManager.default.fileExists(atPath: workFolder.path) {
                try FileManager.default.createDirectory(at: workFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            do {
                guard FileManager.default.createFile(atPath: input.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw CocoaError(.fileWriteUnknown)
                }
                return try FileHandle(forWritingTo: input)
            } catch {
                try? FileManager.default.removeItem(at: folder)
                throw error
            }
        }
        do {
            do {
                for index in 0..<MediaCipher.chunkCount(size: blob.size) {
                    let plain = try await openChunk(index, blob: blob.blobID, size: blob.size, key: record.fileKey)
                    try await fileThreads.runIfActive { try handle.write(contentsOf: plain) }
                }
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            let result = try await work(input, folder)
            await remove(folder)
            return result
        } catch {
            await remove(folder)
            throw error
        }
    }

    /// Removes a work folder on the file threads (here, if they have stopped).
    private func remove(_ folder: URL) async {
        do {
            try await fileThreads.runIfActive { try? FileManager.default.removeItem(at: folder) }
        } catch {
            try? FileManager.default.removeItem(at: folder)
        }
    }

    private func claim(_ id: UUID) async throws {
        let claimed = busy.withLock { $0.insert(id).inserted }
        guard claimed else {
            throw CourierError(.conflict, code: "upload_busy", message: "Another request is writing this upload; wait for it to end.")
        }
    }

    private func release(_ id: UUID) {
        _ = busy.withLock { $0.remove(id) }
    }

    static func blobName(_ id: UUID) -> String { id.lowercasedString }

    /// Parts smaller than this that do not end the upload count against the request budget.
    static let freePartBytes: Int64 = 64 * 1024

    static func offsetMismatch(_ offset: Int64?) -> CourierError {
        CourierError(
            .conflict, code: "offset_mismatch",
            message: offset.map { "The upload is at offset \($0); send from there." } ?? "The upload moved on meanwhile; ask for its offset."
        )
    }

    static func noSuchVariant(_ name: String) -> CourierError {
        CourierError(.notFound, code: "variant_not_found", message: "This media has no variant '\(name)'.")
    }

    static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    static func describe(_ bytes: Int64) -> String {
        bytes >= 1 << 30 && bytes % (1 << 30) == 0 ? "\(bytes >> 30) GiB"
            : bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / 1_048_576) : "\(bytes) bytes"
    }

    static func validMimeType(_ raw: String, for kind: MediaKind) throws(CourierError) -> String {
        let type = raw.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let token = #/^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$/#
        guard type.utf8.count <= MediaLimits.maxMimeTypeBytes, type.wholeMatch(of: token) != nil else {
            throw .invalid("mime_type", "mime_type must be a MIME type such as image/jpeg.")
        }
        let required: String? = switch kind {
        case .photo: "image/"
        case .video: "video/"
        case .voice: "audio/"
        case .file: nil
        }
        if let required, !type.hasPrefix(required) {
            throw .invalid("mime_type", "A \(kind.rawValue) must have a \(required)… MIME type.")
        }
        return type
    }

    static func validFileName(_ raw: String) throws(CourierError) -> String {
        // Only the last path component counts, and no control characters.
        let name = String(raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
            .trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.utf8.count <= MediaLimits.maxFileNameBytes, name != ".", name != "..",
              // Control and format characters (a right-to-left override makes "a‮gnp.exe" look like
              // "aexe.png") and line or paragraph separators have no place in a file name.
              !name.unicodeScalars.contains(where: { [.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory) })
        else { throw .invalid("file_name", "file_name must be 1 to \(MediaLimits.maxFileNameBytes) bytes without control or formatting characters.") }
        return name
    }
}
