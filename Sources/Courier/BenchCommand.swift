import ArgumentParser
import CourierBench
import CourierServer
import CourierStore
import Foundation

/// `courier bench`: load against a running server over its public API, with a table on the
/// terminal and, with `--json`, a report file.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a running Courier server (start it with COURIER_RATE_LIMITS=off and a high COURIER_MAX_CONNECTIONS).",
        subcommands: [W1.self, Connections.self, History.self, Search.self, Login.self, Media.self]
    )

    /// What every mode takes.
    struct Common: ParsableArguments {
        @Option(help: "The server to measure.")
        var url = "http://127.0.0.1:8080"

        @Option(help: "Write the report (machine, engine, settings, results) as JSON to this file.")
        var json: String?

        func run<Settings: Codable & Sendable, Result: Codable & Sendable>(
            mode: String, settings: Settings, table: (Result) -> TextTable, _ body: (BenchTarget) async throws -> Result
        ) async throws {
            OpenFileLimit.raiseToMaximum()
            let target = try BenchTarget(baseURL: url)
            let engine = try await target.databaseEngine()
            let machine = MachineInfo.current()
            print("courier bench \(mode) against \(url) (\(engine)), \(machine.cores) cores, load \(machine.loadAverage.map { String($0) }.joined(separator: " "))")
            let result = try await body(target)
            print(table(result).rendered)
            if let json {
                try BenchReport(mode: mode, server: url, engine: engine, machineBefore: machine, settings: settings, result: result)
                    .write(to: json)
                print("Report written to \(json)")
            }
        }

        /// `run` for a mode that writes straight into the server's database (`server`: the same
        /// settings as `serve`), with the store open for the duration and closed after.
        func run<Settings: Codable & Sendable, Result: Codable & Sendable>(
            mode: String, settings: Settings, server: ServerOptions, table: (Result) -> TextTable,
            _ body: (BenchTarget, Store) async throws -> Result
        ) async throws {
            let store = try await openStore(configuration: try server.configuration(), logger: bootstrapLogging(level: .warning))
            do {
                try await run(mode: mode, settings: settings, table: table) { target in try await body(target, store) }
                try await store.engine.close()
            } catch {
                try? await store.engine.close()
                throw error
            }
        }
    }

    struct W1: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Group fan-out: users in groups, every user connected, open-loop senders.")

        @OptionGroup var common: Common
        @Option(help: "Users, all connected by WebSocket.") var users = 1000
        @Option(name: .customLong("group-size"), help: "Members per group.") var groupSize = 10
        @Option(help: "Messages per second over all senders (the first rate with --ramp).") var rate = 1000
        @Option(help: "Seconds measured per rate.") var duration = 10.0
        @Option(help: "Seconds of warm-up before measuring, per rate.") var warmup = 3.0
        @Flag(help: "Raise the rate step by step and report the highest sustainable one (≥ 99.9% delivered, p99 ≤ 100 ms).") var ramp = false
        @Option(name: .customLong("ramp-step"), help: "How much each ramp step adds.") var rampStep = 500
        @Option(name: .customLong("ramp-max"), help: "The highest rate a ramp tries.") var rampMax = 20_000
        @Option(help: "Event-loop threads of the load generator.") var threads = 2

        func run() async throws {
            var settings = W1Benchmark.Settings()
            settings.users = users
            settings.groupSize = groupSize
            settings.rate = rate
            settings.durationSeconds = duration
            settings.warmupSeconds = warmup
            settings.ramp = ramp
            settings.rampStep = rampStep
            settings.rampMax = rampMax
            settings.threads = threads
            try await common.run(mode: "w1", settings: settings, table: \.table) { target in
                let result = try await W1Benchmark(target: target, settings: settings).run()
                if ramp { print("Max sustainable rate: \(result.maxSustainableRate.map { "\($0) messages/s" } ?? "none of the rates tried")") }
                return result
            }
        }
    }

    struct Connections: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Idle WebSockets: server memory per connection and time to open them.")

        @OptionGroup var common: Common
        @Option(help: "Connections to open.") var connections = 10_000
        @Option(help: "Accounts to spread them over.") var users = 100
        @Option(name: .customLong("server-pid"), help: "The server's process id (by default the process listening on the --url port).") var serverPID: Int32?
        @Option(help: "Event-loop threads of the load generator.") var threads = 2
        @Option(name: .customLong("source-addresses"), help: "Loopback addresses to connect from, 127.0.0.1 up (one has about 28,000 ports; 50,000 connections need 2).")
        var sourceAddresses = 1

        func run() async throws {
            var settings = ConnectionsBenchmark.Settings()
            settings.connections = connections
            settings.users = users
            settings.serverPID = serverPID
            settings.threads = threads
            settings.sourceAddresses = sourceAddresses
            try await common.run(mode: "connections", settings: settings, table: \.table) { target in
                try await ConnectionsBenchmark(target: target, settings: settings).run()
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "History paging in a large chat, written straight into the server's database (same settings as `serve`)."
        )

        @OptionGroup var common: Common
        @OptionGroup var server: ServerOptions
        @Option(help: "Messages in the chat.") var messages = 1_000_000
        @Option(help: "Pages fetched per paging mode.") var requests = 500
        @Option(help: "Fetches in flight at once.") var concurrency = 1
        @Option(help: "Measurements of the same chat (filled once); the table marks the median.") var rounds = 1

        func run() async throws {
            var settings = HistoryBenchmark.Settings()
            settings.rounds = rounds
            settings.messages = messages
            settings.requests = requests
            settings.concurrency = concurrency
            try await common.run(mode: "history", settings: settings, server: server, table: \.table) { target, store in
                try await HistoryBenchmark(target: target, store: store, settings: settings).run()
            }
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search in many messages, written (and indexed) straight into the server's database (same settings as `serve`)."
        )

        @OptionGroup var common: Common
        @OptionGroup var server: ServerOptions
        @Option(help: "Messages in all.") var messages = 1_000_000
        @Option(help: "Chats they are spread over (the searcher is in all of them).") var chats = 100
        @Option(help: "Searches per kind of query.") var requests = 200

        func run() async throws {
            var settings = SearchBenchmark.Settings()
            settings.messages = messages
            settings.chats = chats
            settings.requests = requests
            try await common.run(mode: "search", settings: settings, server: server, table: \.table) { target, store in
                try await SearchBenchmark(target: target, store: store, settings: settings).run()
            }
        }
    }

    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign-up and sign-in throughput (bound by the server's bcrypt cost).")

        @OptionGroup var common: Common
        @Option(help: "Accounts to create and sign in.") var users = 100
        @Option(help: "Requests in flight at once.") var concurrency = 8

        func run() async throws {
            var settings = LoginBenchmark.Settings()
            settings.users = users
            settings.concurrency = concurrency
            try await common.run(mode: "login", settings: settings, table: \.table) { target in
                try await LoginBenchmark(target: target, settings: settings).run()
            }
        }
    }

    struct Media: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload and download MB/s through encryption, server memory during a large upload, photo processing time."
        )

        @OptionGroup var common: Common
        @Option(help: "Size of the file sent each round, in MB (1,048,576 bytes).") var megabytes = 256
        @Option(help: "Bytes per upload request (Telegram's parts are 524288); 0 sends the file as one streamed request.") var partBytes = 512 * 1024
        @Option(help: "Rounds of upload and download.") var rounds = 3
        @Option(help: "Photos processed (made by vips on this machine).") var photos = 3
        @Option(help: "Megapixels of the photo.") var photoMegapixels = 24

        func run() async throws {
            var settings = MediaBenchmark.Settings()
            settings.megabytes = megabytes
            settings.partBytes = partBytes
            settings.rounds = rounds
            settings.photos = photos
            settings.photoMegapixels = photoMegapixels
            try await common.run(mode: "media", settings: settings, table: \.table) { target in
                try await MediaBenchmark(target: target, settings: settings).run()
            }
        }
    }
}
