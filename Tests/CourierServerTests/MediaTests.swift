import CourierCore
@testable import CourierServer
import CourierStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Media")
struct MediaTests {
    /// A file sent in parts of any size (not aligned to chunks) comes back byte for byte, whole, as a
    /// range, and by its ETag.
    @Test(arguments: TestEngine.all, MediaBackend.all)
    func uploadInPartsAndDownloadRanges(engine: TestEngine, backend: MediaBackend) async throws {
        let folder = try TemporaryFolder()
        try await withTestApp(engine, blobs: try backend.make(in: folder)) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bytes = (0..<1_300_000).map { _ in UInt8.random(in: 0...255) }
            let media = try await api.upload(bytes, by: alice, fileName: "report.pdf", partSize: 300_001)
            #expect(media.status == .created)
            let id = try media.string("id")
            #expect(media["file_name"] as? String == "report.pdf")
            #expect(media["size"] as? Int == bytes.count)

            let whole = try await api.download("/api/v1/media/\(id)/content", token: alice.token)
            #expect(whole.status == .ok)
            #expect(whole.bytes == bytes)
            #expect(whole.headers[.contentDisposition]?.hasPrefix("attachment;") == true)
            #expect(whole.headers[.init("X-Content-Type-Options")!] == "nosniff")
            // A range that spans the boundary of two encrypted chunks.
            let part = try await api.download("/api/v1/media/\(id)/content", token: alice.token, headers: [.range: "bytes=524000-525000"])
            #expect(part.status == .partialContent)
            #expect(part.bytes == Array(bytes[524_000...525_000]))
            #expect(part.headers[.contentRange] == "bytes 524000-525000/1300000")
            let tail = try await api.download("/api/v1/media/\(id)/content", token: alice.token, headers: [.range: "bytes=-10"])
            #expect(tail.bytes == Array(bytes.suffix(10)))
            let past = try await api.download("/api/v1/media/\(id)/content", token: alice.token, headers: [.range: "bytes=2000000-"])
            #expect(past.status == .rangeNotSatisfiable)
            let etag = try #require(whole.headers[.eTag])
            #expect(try await api.download("/api/v1/media/\(id)/content", token: alice.token, headers: [.ifNoneMatch: etag]).status == .notModified)
        }
    }

    /// tus-style resumption: the offset is asked for, a wrong offset is refused with the right one,
    /// the bytes may not run past the declared size, and a cancelled upload is gone.
    @Test(arguments: TestEngine.all)
    func offsetsAreCheckedAndUploadsResume(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let bytes = (0..<700_000).map { UInt8($0 % 251) }
            let created = try await api.send(.post, "/api/v1/uploads", json: [
                "size": bytes.count, "mime_type": "application/zip", "file_name": "a.zip", "sha256": MediaFixtures.sha256(bytes),
            ], token: alice.token)
            #expect(created.status == .created)
            let id = try created.string("id")
            let path = "/api/v1/uploads/\(id)"
            #expect(try await api.sendBytes(.patch, path, bytes[0..<100_000], token: alice.token, headers: [.uploadOffset: "0"]).headers[.uploadOffset] == "100000")
            let status = try await api.send(.get, path, token: alice.token)
            #expect(status["offset"] as? Int == 100_000)
            #expect(status.headers[.uploadOffset] == "100000")
            let head = try await api.send(.head, path, token: alice.token)
            #expect(head.headers[.uploadOffset] == "100000")

            let wrong = try await api.sendBytes(.patch, path, bytes[0..<10], token: alice.token, headers: [.uploadOffset: "0"])
            #expect(wrong.status == .conflict)
            #expect(wrong.errorCode == "offset_mismatch")
            #expect((wrong.json["error"] as? [String: Any])?["message"] as? String == "The upload is at offset 100000; send from there.")
            #expect(try await api.sendBytes(.patch, path, bytes[100_000...], token: alice.token, headers: [.uploadOffset: "x"]).errorCode == "invalid_upload_offset")
            #expect(try await api.sendBytes(.patch, path, bytes[100_000...], token: alice.token, headers: [.uploadOffset: "100000", .contentType: "application/json"]).status == .badRequest)
            let tooLong = try await api.sendBytes(.patch, path, bytes[100_000...] + [1, 2, 3], token: alice.token, headers: [.uploadOffset: "100000"])
            #expect(tooLong.status == .contentTooLarge)
            #expect(tooLong.errorCode == "upload_too_long")
            #expect(try await api.send(.post, "\(path)/complete", token: alice.token).errorCode == "upload_incomplete")
            // Someone else's upload does not exist for them.
            #expect(try await api.send(.get, path, token: bob.token).status == .notFound)
            #expect(try await api.sendBytes(.patch, path, bytes[100_000...], token: bob.token, headers: [.uploadOffset: "100000"]).status == .notFound)

            let stored = try await api.send(.get, path, token: alice.token)["offset"] as? Int ?? 0
            #expect(try await api.sendBytes(.patch, path, bytes[stored...], token: alice.token, headers: [.uploadOffset: String(stored)]).status == .noContent)
            let done = try await api.send(.post, "\(path)/complete", token: alice.token)
            #expect(done.status == .created)
            #expect(try await api.download("/api/v1/media/\(id)/content", token: alice.token).bytes == bytes)

            let other = try await api.send(.post, "/api/v1/uploads", json: [
                "size": 10, "mime_type": "text/plain", "file_name": "b.txt", "sha256": String(repeating: "0", count: 64),
            ], token: alice.token)
            let otherID = try other.string("id")
            #expect(try await api.send(.delete, "/api/v1/uploads/\(otherID)", token: alice.token).status == .noContent)
            #expect(try await api.send(.get, "/api/v1/uploads/\(otherID)", token: alice.token).status == .notFound)
        }
    }

    /// Too large is refused when the upload is created (413, no byte sent), premium raises the
    /// limit, the quota counts stored and pending bytes, and bad declarations are 422.
    @Test(arguments: TestEngine.all)
    func limitsAreEnforcedBeforeAnyByte(engine: TestEngine) async throws {
        var settings = MediaSettings()
        settings.maxFileBytes = 1_000
        settings.maxFileBytesPremium = 4_000
        settings.quotaBytes = 2_500
        settings.quotaBytesPremium = 10_000
        try await withTestApp(engine, media: settings) { api, _ in
            let alice = try await api.register(username: "alice_1")
            func create(_ size: Int, _ user: SignedInUser, _ extra: [String: Any?] = [:]) async throws -> APIResponse {
                try await api.send(.post, "/api/v1/uploads", json: [
                    "size": size, "mime_type": "application/octet-stream", "file_name": "f", "sha256": String(repeating: "a", count: 64),
                ].merging(extra) { _, new in new }, token: user.token)
            }
            let big = try await create(1_001, alice)
            #expect(big.status == .contentTooLarge)
            #expect(big.errorCode == "file_too_large")
            #expect(try await create(1_000, alice).status == .created)
            #expect(try await create(1_000, alice).status == .created)
            let overQuota = try await create(600, alice)
            #expect(overQuota.status == .contentTooLarge)
            #expect(overQuota.errorCode == "media_quota_exceeded")

            for (field, extra) in [
                ("size", ["size": 0]), ("sha256", ["sha256": "xyz"]), ("mime_type", ["mime_type": "not a type"]),
                ("file_name", ["file_name": ""]), ("file_name", ["file_name": String(repeating: "n", count: 300)]),
                ("kind", ["kind": "hologram"]), ("mime_type", ["kind": "photo", "mime_type": "text/html"]),
            ] as [(String, [String: Any?])] {
                let refused = try await create(10, alice, extra)
                #expect(refused.status == .unprocessableContent, "\(extra)")
                #expect(refused.errorField == field, "\(extra): \(refused.json)")
            }

            let premium = try await api.register(username: "premium_1")
            let bought = try await api.send(.post, "/api/v1/subscriptions/purchase", json: ["subscription_type": "premium_monthly", "payment_method": "stub"], token: premium.token)
            #expect(bought.status == .ok || bought.status == .created, "\(bought.json)")
            #expect(try await create(4_000, premium).status == .created)
            #expect(try await create(4_001, premium).errorCode == "file_too_large")
        }
    }

    /// A file whose bytes do not have the declared SHA-256 is refused and removed.
    @Test(arguments: TestEngine.all)
    func hashMismatchIsRefused(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bytes: [UInt8] = Array("hello world".utf8)
            let response = try await api.upload(bytes, by: alice, sha256: MediaFixtures.sha256(Array("hello there".utf8)))
            #expect(response.status == .unprocessableContent)
            #expect(response.errorCode == "hash_mismatch")
            #expect(try await api.send(.get, "/api/v1/uploads", token: alice.token).status != .ok)
        }
    }

    /// Downloads: the uploader and members of a chat where the media is attached; nobody else (404),
    /// not a former member, and not with a forged or expired link.
    @Test(arguments: TestEngine.all)
    func accessMatrix(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let carol = try await api.register(username: "carol_1")
            let stranger = try await api.register(username: "stranger")
            let chat = try await api.createGroup(alice, members: [bob, carol])
            let id = try await api.uploadMedia(Array("secret plans".utf8), by: alice, fileName: "plans.txt")
            // Not yet attached: only the uploader sees it.
            #expect(try await api.send(.get, "/api/v1/media/\(id)", token: bob.token).status == .notFound)
            // Bob cannot attach Alice's media to a chat of his.
            let bobsChat = try await api.createGroup(bob, members: [stranger])
            let stolen = try await api.sendMessage(bob, to: bobsChat, "", extra: ["attachments": [id], "message_type": nil])
            #expect(stolen.status == .unprocessableContent)
            #expect(stolen.errorField == "attachments")

            let sent = try await api.sendMessage(alice, to: chat, "the plans", extra: ["attachments": [id], "message_type": nil])
            #expect(sent.status == .created, "\(sent.json)")
            #expect(sent["message_type"] as? String == "file")
            #expect((sent["media"] as? [[String: Any]])?.first?["file_name"] as? String == "plans.txt")
            #expect(sent["attachments"] as? [String] == [id])
            let page = try await api.history(bob, chat)
            #expect((page.messages.last?["media"] as? [[String: Any]])?.first?["id"] as? String == id)

            for user in [alice, bob, carol] {
                #expect(try await api.send(.get, "/api/v1/media/\(id)", token: user.token).status == .ok)
                #expect(try await api.download("/api/v1/media/\(id)/content", token: user.token).bytes == Array("secret plans".utf8))
            }
            for path in ["/api/v1/media/\(id)", "/api/v1/media/\(id)/content", "/api/v1/media/\(id)/link"] {
                #expect(try await api.send(.get, path, token: stranger.token).status == .notFound)
            }
            #expect(try await api.send(.get, "/api/v1/media/\(UUID().uuidString)", token: alice.token).status == .notFound)
            #expect(try await api.send(.get, "/api/v1/media/\(id)/content?variant=../../etc", token: alice.token).status == .notFound)

            let link = try await api.send(.get, "/api/v1/media/\(id)/link", token: carol.token)
            let url = try link.string("url")
            #expect(try await api.download(url, token: nil).bytes == Array("secret plans".utf8))
            #expect(try await api.download(url.replacingOccurrences(of: "variant=original", with: "variant=x1280"), token: nil).status == .unauthorized)
            // The signature is hex; its last byte changed to one it is not (a fixed "00" is the real one 1 time in 256).
            let forgedByte = url.hasSuffix("00") ? "01" : "00"
            #expect(try await api.download(String(url.dropLast(2)) + forgedByte, token: nil).status == .unauthorized)
            #expect(try await api.download("/media/\(id)?variant=original", token: nil).status == .unauthorized)
            // Carol leaves: her link stops working with her membership.
            #expect(try await api.send(.post, "/api/v1/chats/\(chat)/leave", token: carol.token).status == .noContent)
            #expect(try await api.download(url, token: nil).status == .notFound)
            #expect(try await api.send(.get, "/api/v1/media/\(id)", token: carol.token).status == .notFound)
            // An expired link.
            let expired = Int64(Date().timeIntervalSince1970) - 10
            let signature = MediaLinkSigner(key: services.store.keyring.derivedKey(purpose: "media-links/v1"))
                .signature(media: UUID(uuidString: id)!, variant: "original", user: UUID(uuidString: bob.id)!, expires: expired)
            let old = try await api.download("/media/\(id)?variant=original&expires=\(expired)&user=\(bob.id)&sig=\(signature)", token: nil)
            #expect(old.status == .unauthorized)
        }
    }

    /// A forward carries the media into the other chat; deleting the message for everyone cuts
    /// access at once and removes the file after the purge period.
    @Test(arguments: TestEngine.all, MediaBackend.all)
    func forwardKeepsMediaAndDeletionPurges(engine: TestEngine, backend: MediaBackend) async throws {
        let folder = try TemporaryFolder()
        let blobs = try backend.make(in: folder)
        try await withTestApp(engine, blobs: blobs) { api, services in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let dave = try await api.register(username: "dave_1")
            let chat = try await api.createGroup(alice, members: [bob])
            let other = try await api.createGroup(bob, members: [dave])
            let id = try await api.uploadMedia(Array("album".utf8), by: alice)
            let sent = try await api.sendMessage(alice, to: chat, "", extra: ["attachments": [id], "message_type": nil])
            let messageID = try sent.string("id")
            let forwarded = try await api.send(.post, "/api/v1/messages/\(messageID)/forward", json: ["chat_id": other], token: bob.token)
            #expect(forwarded.status == .created)
            #expect(forwarded["attachments"] as? [String] == [id])
            #expect(try await api.download("/api/v1/media/\(id)/content", token: dave.token).bytes == Array("album".utf8))
            // Bob may send it on again in the chat where it already is.
            #expect(try await api.sendMessage(bob, to: other, "again", extra: ["attachments": [id]]).status == .created)

            // Unreferenced media and expired uploads go; referenced media stay.
            let lonely = try await api.uploadMedia(Array("nobody".utf8), by: alice)
            let unfinished = try await api.send(.post, "/api/v1/uploads", json: [
                "size": 10, "mime_type": "text/plain", "file_name": "u.txt", "sha256": String(repeating: "0", count: 64),
            ], token: alice.token).string("id")
            try await services.media.collectGarbage(now: Timestamp.now().adding(seconds: 3600))
            #expect(try await api.send(.get, "/api/v1/media/\(lonely)", token: alice.token).status == .ok)
            try await services.media.collectGarbage(now: Timestamp.now().adding(seconds: 25 * 3600))
            #expect(try await api.send(.get, "/api/v1/media/\(lonely)", token: alice.token).status == .notFound)
            #expect(try await services.store.media.record(UUID(uuidString: unfinished)!) == nil)
            #expect(try await api.send(.get, "/api/v1/media/\(id)", token: alice.token).status == .ok)

            // Deleted for everyone in the first chat: Alice's chat loses it; the forwards keep it.
            #expect(try await api.send(.delete, "/api/v1/messages/\(messageID)", token: alice.token).status == .noContent)
            #expect(try await api.send(.get, "/api/v1/media/\(id)", token: dave.token).status == .ok)
            // Every message with it deleted: gone after the purge period, not before.
            for message in try await api.history(bob, other).messages where (message["attachments"] as? [String])?.contains(id) == true {
                #expect(try await api.send(.delete, "/api/v1/messages/\(try #require(message["id"] as? String))", token: bob.token).status == .noContent)
            }
            #expect(try await api.send(.get, "/api/v1/media/\(id)", token: dave.token).status == .notFound)
            #expect(try await api.send(.get, "/api/v1/media/\(id)", token: alice.token).status == .ok, "the uploader keeps it until the purge")
            try await services.media.collectGarbage(now: Timestamp.now().adding(seconds: 29 * 24 * 3600))
            #expect(try await services.store.media.record(UUID(uuidString: id)!) != nil)
            try await services.media.collectGarbage(now: Timestamp.now().adding(seconds: 31 * 24 * 3600))
            #expect(try await services.store.media.record(UUID(uuidString: id)!) == nil)
            #expect(try await blobs.get(blob: id, chunk: 0) == nil, "the bytes are gone from the store too")
        }
    }

    /// A canary in a file's bytes, its name and its caption is nowhere in the database or the blob
    /// folder, and chunks cannot be swapped between files unnoticed.
    @Test(arguments: TestEngine.all, MediaBackend.all)
    func mediaAreEncryptedAtRest(engine: TestEngine, backend: MediaBackend) async throws {
        let folder = try TemporaryFolder()
        let blobs = try backend.make(in: folder)
        let canary = "canary-" + UUID().uuidString
        try await engine.withDatabase { store, location in
            let services = try await AppServices(store: store, jwtSecret: testJWTSecret, bcryptCost: 4, blobs: blobs, mediaWorkFolder: folder.path + "-work")
            let app = Application(router: buildRouter(services: services), logger: TestEngine.logger)
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let alice = try await api.register(username: "alice_1")
                let bob = try await api.register(username: "bob_12")
                let chat = try await api.createGroup(alice, members: [bob])
                let content = Array("top \(canary) secret ".utf8) + (0..<600_000).map { _ in UInt8.random(in: 0...255) }
                let first = try await api.uploadMedia(content, by: alice, mimeType: "text/plain", fileName: "\(canary).txt")
                let second = try await api.uploadMedia(Array("other \(canary)".utf8), by: alice, mimeType: "text/plain", fileName: "b-\(canary).txt")
                let sent = try await api.sendMessage(alice, to: chat, "caption \(canary)", extra: ["attachments": [first, second]])
                #expect(sent.status == .created)
                #expect(try await api.download("/api/v1/media/\(first)/content", token: bob.token).bytes == content)

                // Every byte of the database, of the data folder and of what the blob store was sent.
                var everything = try await EncryptionTests.rawDatabase(store, location) + blobs.everythingWritten
                for file in FileManager.default.enumerator(atPath: folder.path)?.compactMap({ $0 as? String }) ?? [] {
                    everything.append(FileManager.default.contents(atPath: folder.path + "/" + file) ?? Data())
                }
                #expect(everything.count > 600_000)
                #expect(everything.range(of: Data(canary.utf8)) == nil, "the canary is stored in plaintext")

                // Swap the second file's only chunk for the first file's first chunk: it must not open.
                let stolen = try #require(try await blobs.get(blob: first, chunk: 0))
                try await blobs.put(blob: second, chunk: 0, bytes: stolen)
                #expect(try await api.download("/api/v1/media/\(second)/content", token: bob.token).status == .internalServerError)
                // Cut the first file short: its second and last chunk is replaced by its first.
                try await blobs.put(blob: first, chunk: 1, bytes: try #require(try await blobs.get(blob: first, chunk: 0)))
                let cut = try await api.download("/api/v1/media/\(first)/content", token: bob.token, headers: [.range: "bytes=524288-"])
                #expect(cut.status == .internalServerError)
                #expect(try await api.download("/api/v1/media/\(first)/content", token: bob.token, headers: [.range: "bytes=0-99"]).bytes == Array(content[0..<100]))
            }
        }
    }

    /// Photos: Telegram's sizes plus 200×200 JPEG and WebP, EXIF (GPS, canary text) gone with its
    /// orientation applied, a small inline preview; a decompression bomb is 422 and the server
    /// goes on.
    @Test(arguments: TestEngine.all)
    func photosAreProcessed(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let canary = "gps-canary-" + UUID().uuidString.prefix(8)
            // 1600×1000 stored, orientation 6: shown rotated, 1000×1600.
            let jpeg = try await MediaFixtures.jpegWithEXIF(width: 1600, height: 1000, orientation: 6, description: String(canary))
            let photo = try await api.upload(jpeg, by: alice, kind: "photo", mimeType: "image/jpeg", fileName: "IMG_0001.jpg")
            #expect(photo.status == .created, "\(photo.json)")
            let id = try photo.string("id")
            #expect(photo["width"] as? Int == 800)
            #expect(photo["height"] as? Int == 1280)
            let preview = try #require(photo["preview"] as? String)
            #expect(preview.hasPrefix("data:image/jpeg;base64,") && preview.count < 1200)
            let variants = try #require(photo["variants"] as? [[String: Any]])
            #expect(Set(variants.compactMap { $0["name"] as? String }) == ["x1280", "m800", "s320", "s100", "thumb", "thumb_webp"])
            for variant in variants {
                let name = try #require(variant["name"] as? String)
                let file = try await api.download("/api/v1/media/\(id)/content?variant=\(name)", token: alice.token)
                #expect(file.status == .ok)
                #expect(file.bytes.count == variant["size"] as? Int)
                #expect(Data(file.bytes).range(of: Data(canary.utf8)) == nil, "EXIF survived in \(name)")
                #expect(Data(file.bytes).range(of: Data("Exif".utf8)) == nil, "EXIF survived in \(name)")
                if name == "thumb_webp" { #expect(Array(file.bytes[8..<12]) == Array("WEBP".utf8)) }
            }
            #expect(try await api.download("/api/v1/media/\(id)/content?variant=original", token: alice.token).status == .notFound, "the original with its EXIF is not kept")

            let bomb = try await api.upload(MediaFixtures.pngHeaderOnly(width: 20_000, height: 20_000), by: alice, kind: "photo", mimeType: "image/png", fileName: "bomb.png")
            #expect(bomb.status == .unprocessableContent)
            #expect(bomb.errorCode == "media_unprocessable")
            let notAnImage = try await api.upload(Array("<svg xmlns='http://www.w3.org/2000/svg'/>".utf8), by: alice, kind: "photo", mimeType: "image/svg+xml", fileName: "x.svg")
            #expect(notAnImage.errorCode == "media_unprocessable")
            #expect(try await api.upload(MediaFixtures.png(width: 64, height: 48), by: alice, kind: "photo", mimeType: "image/png", fileName: "small.png").status == .created)
        }
    }

    /// Voice notes get a duration and a waveform; videos a poster, dimensions and (in the
    /// background) a 720p variant when larger.
    @Test(arguments: TestEngine.all)
    func voiceAndVideoAreProcessed(engine: TestEngine) async throws {
        try await withTestApp(engine) { api, services in
            let alice = try await api.register(username: "alice_1")
            let voice = try await MediaFixtures.ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"], ["-c:a", "libopus", "-b:a", "24k"], suffix: "ogg")
            let note = try await api.upload(voice, by: alice, kind: "voice", mimeType: "audio/ogg", fileName: "voice.ogg")
            #expect(note.status == .created, "\(note.json)")
            let duration = try #require(note["duration"] as? Double)
            #expect(abs(duration - 2) < 0.2)
            let waveform = try #require(note["waveform"] as? [Int])
            #expect(waveform.count == 100 && waveform.max() == 31)

            // Where and by whom it was filmed, as a phone writes it: not kept.
            let canary = "where-canary-" + UUID().uuidString.prefix(8)
            let video = try await MediaFixtures.ffmpeg(
                ["-f", "lavfi", "-i", "testsrc=size=1920x1080:rate=10:duration=1"],
                ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-metadata", "location=+40.7128-074.0060/",
                 "-metadata", "title=\(canary)", "-metadata", "comment=\(canary)"],
                suffix: "mp4"
            )
            #expect(Data(video).range(of: Data(canary.utf8)) != nil)
            let clip = try await api.upload(video, by: alice, kind: "video", mimeType: "video/mp4", fileName: "clip.mp4")
            #expect(clip.status == .created, "\(clip.json)")
            #expect(clip["width"] as? Int == 1920 && clip["height"] as? Int == 1080)
            let id = try clip.string("id")
            let names = (clip["variants"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["original", "poster"])
            #expect(try await api.download("/api/v1/media/\(id)/content?variant=poster", token: alice.token).bytes.starts(with: [0xFF, 0xD8]))
            let kept = try await api.download("/api/v1/media/\(id)/content", token: alice.token)
            #expect(kept.status == .ok && kept.headers[.contentType] == "video/mp4")
            #expect(Data(kept.bytes).range(of: Data(canary.utf8)) == nil, "the video's metadata was kept")
            #expect(Data(kept.bytes).range(of: Data("+40.7128".utf8)) == nil, "the video's location was kept")
            try await services.media.doPendingWork()
            let later = try await api.send(.get, "/api/v1/media/\(id)", token: alice.token)
            let hd = try #require((later["variants"] as? [[String: Any]])?.first { $0["name"] as? String == "720p" })
            #expect(hd["height"] as? Int == 720 && hd["width"] as? Int == 1280)
            #expect(try await api.download("/api/v1/media/\(id)/content?variant=720p", token: alice.token, headers: [.range: "bytes=0-11"]).bytes.count == 12)

            let fake = try await api.upload(Array("not a video".utf8), by: alice, kind: "video", mimeType: "video/mp4", fileName: "x.mp4")
            #expect(fake.errorCode == "media_unprocessable")
        }
    }

    /// Found by attacking the API: an HLS playlist posing as a video (ffmpeg would read the files it
    /// names from the server's disk), the same media twice in two spellings, a right-to-left override
    /// in a file name, a crash between storing a chunk and moving the offset, weak ETags, huge
    /// ranges, and the sandboxing headers of a download.
    @Test(arguments: TestEngine.all)
    func hostileInputIsRefusedCleanly(engine: TestEngine) async throws {
        let folder = try TemporaryFolder()
        let blobs = try MediaBackend.folder.make(in: folder)
        try await withTestApp(engine, blobs: blobs) { api, services in
            let alice = try await api.register(username: "alice_1")
            let bob = try await api.register(username: "bob_12")
            let chat = try await api.createGroup(alice, members: [bob])

            // A video the server has on disk, named by a playlist.
            let secret = try await MediaFixtures.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=5:duration=1"], ["-c:v", "libx264", "-preset", "ultrafast"], suffix: "ts")
            let secretPath = folder.path + "/secret.ts"
            try Data(secret).write(to: URL(fileURLWithPath: secretPath))
            let playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nfile:\(secretPath)\n#EXT-X-ENDLIST\n"
            let posing = try await api.upload(Array(playlist.utf8), by: alice, kind: "video", mimeType: "video/mp4", fileName: "clip.mp4")
            #expect(posing.status == .unprocessableContent)
            #expect(posing.errorCode == "media_unprocessable")
            let asVoice = try await api.upload(Array(playlist.utf8), by: alice, kind: "voice", mimeType: "audio/ogg", fileName: "v.ogg")
            #expect(asVoice.errorCode == "media_unprocessable")

            let id = try await api.uploadMedia(Array("x".utf8), by: alice)
            let twice = try await api.sendMessage(alice, to: chat, "", extra: ["attachments": [id, id.uppercased()], "message_type": nil])
            #expect(twice.status == .unprocessableContent)
            #expect(twice.errorField == "attachments")

            let spoofed = try await api.send(.post, "/api/v1/uploads", json: [
                "size": 1, "mime_type": "image/png", "file_name": "a\u{202E}gnp.exe", "sha256": String(repeating: "0", count: 64),
            ], token: alice.token)
            #expect(spoofed.errorField == "file_name")

            // Chunk 0 was stored with 300,000 bytes but the server died before the offset moved past 100,000.
            let bytes = (0..<400_000).map { UInt8($0 % 199) }
            let created = try await api.send(.post, "/api/v1/uploads", json: [
                "size": bytes.count, "mime_type": "application/octet-stream", "file_name": "f.bin", "sha256": MediaFixtures.sha256(bytes),
            ], token: alice.token)
            let upload = try created.string("id")
            #expect(try await api.sendBytes(.patch, "/api/v1/uploads/\(upload)", bytes[0..<100_000], token: alice.token, headers: [.uploadOffset: "0"]).status == .noContent)
            let record = try #require(try await services.store.media.record(UUID(uuidString: upload)!))
            let cipher = MediaCipher(key: record.fileKey, blob: record.id, size: record.size)
            try await blobs.put(blob: upload, chunk: 0, bytes: try cipher.seal(bytes[0..<300_000], index: 0))
            #expect(try await api.sendBytes(.patch, "/api/v1/uploads/\(upload)", bytes[100_000...], token: alice.token, headers: [.uploadOffset: "100000"]).status == .noContent)
            #expect(try await api.send(.post, "/api/v1/uploads/\(upload)/complete", token: alice.token).status == .created)
            #expect(try await api.download("/api/v1/media/\(upload)/content", token: alice.token).bytes == bytes)

            let whole = try await api.download("/api/v1/media/\(upload)/content", token: alice.token)
            #expect(whole.headers[.contentSecurityPolicy] == "sandbox; default-src 'none'")
            #expect(whole.headers[.cacheControl] == "private, max-age=3600")
            let etag = try #require(whole.headers[.eTag])
            #expect(try await api.download("/api/v1/media/\(upload)/content", token: alice.token, headers: [.ifNoneMatch: "W/\(etag)"]).status == .notModified)
            #expect(try await api.download("/api/v1/media/\(upload)/content", token: alice.token, headers: [.range: "bytes=99999999999999999999-"]).status == .rangeNotSatisfiable)
            #expect(try await api.download("/api/v1/media/\(upload)/content", token: alice.token, headers: [.range: "bytes=0-0"]).bytes == [bytes[0]])
        }
    }

    /// Upload parts that store nothing (an unknown upload, a wrong offset) or almost nothing cost a
    /// request of the budget like any other; parts that carry a file do not.
    @Test func failedPartsAreRateLimited() async throws {
        var limits = RateLimitSettings()
        limits.user = .init(5, per: 60)
        try await withTestApp(.sqlite, rateLimits: limits) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let bytes = (0..<3_000_000).map { UInt8($0 % 7) }
            // 6 parts that store bytes, over a budget of 5 requests (create and complete are 2).
            #expect(try await api.upload(bytes, by: alice, partSize: 512 * 1024).status == .created)
            var statuses: [Int] = []
            for _ in 0..<8 {
                statuses.append(Int(try await api.sendBytes(.patch, "/api/v1/uploads/\(UUID().uuidString)", [1], token: alice.token, headers: [.uploadOffset: "0"]).status.code))
            }
            #expect(statuses.contains(429), "\(statuses)")
        }
        // Parts of a few bytes (each rewrites a chunk) cost a request each.
        try await withTestApp(.sqlite, rateLimits: limits) { api, _ in
            let alice = try await api.register(username: "alice_1")
            let created = try await api.send(.post, "/api/v1/uploads", json: [
                "size": 1000, "mime_type": "text/plain", "file_name": "t.txt", "sha256": String(repeating: "0", count: 64),
            ], token: alice.token)
            let id = try created.string("id")
            var statuses: [Int] = []
            for offset in 0..<8 {
                statuses.append(Int(try await api.sendBytes(.patch, "/api/v1/uploads/\(id)", [1], token: alice.token, headers: [.uploadOffset: String(offset)]).status.code))
            }
            #expect(statuses.contains(429), "\(statuses)")
        }
    }

    /// The Telegram relay names the kind of a message only.
    @Test func relayNamesOnlyTheKind() {
        #expect(TelegramRelay.noun(for: "image") == "photo")
        #expect(TelegramRelay.noun(for: "audio") == "voice message")
        #expect(TelegramRelay.noun(for: "file") == "file")
        #expect(TelegramRelay.noun(for: "video") == "video")
        #expect(TelegramRelay.noun(for: "text") == "message")
    }
}
