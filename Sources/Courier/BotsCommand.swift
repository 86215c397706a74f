import ArgumentParser
import Foundation
import CourierCore
import CourierServer
import CourierStore

/// `courier bots create|list|token|delete --owner …`: a person's bots, from the server's shell, through
/// the same service as the web client's settings (the same rules, the same audit entries).
struct BotsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bots", abstract: "Make and manage bots (accounts driven through the Bot API).",
        subcommands: [Create.self, List.self, Token.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a bot owned by a person; prints its token once.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The owner's username.") var owner: String
        @Option(help: "The bot's username (ends in \"bot\").") var username: String

        func run() async throws {
            try await BotsCommand.withBots(options, owner: owner) { bots, ownerID in
                let (bot, token) = try await bots.create(username: username, by: ownerID)
                print("Made @\(bot.username.value) (id \(token.botNumber)). Its token, shown this once:")
                print(token.text)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a person's bots.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The owner's username.") var owner: String

        func run() async throws {
            try await BotsCommand.withBots(options, owner: owner) { bots, ownerID in
                for (bot, number) in try await bots.bots(of: ownerID) { print("@\(bot.username.value)\t\(number)\t\(bot.createdAt)") }
            }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a bot a new token; the old one stops working at once.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The owner's username.") var owner: String
        @Option(help: "The bot's username.") var username: String

        func run() async throws {
            try await BotsCommand.withBots(options, owner: owner) { bots, ownerID in
                let token = try await bots.replaceToken(of: try await BotsCommand.botID(username, of: ownerID, in: bots), by: ownerID)
                print(token.text)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a bot's account.")
        @OptionGroup var options: ServerOptions
        @Option(help: "The owner's username.") var owner: String
        @Option(help: "The bot's username.") var username: String

        func run() async throws {
            try await BotsCommand.withBots(options, owner: owner) { bots, ownerID in
                try await bots.delete(try await BotsCommand.botID(username, of: ownerID, in: bots), by: ownerID)
                print("Deleted @\(username).")
            }
        }
    }

    static func botID(_ username: String, of ownerID: UUID, in bots: BotService) async throws -> UUID {
        let name = try Username(username)
        guard let found = try await bots.bots(of: ownerID).first(where: { $0.bot.username == name }) else {
            throw ValidationError("The owner has no bot named \(name).")
        }
        return found.bot.userID
    }

    /// Runs `body` with the bot service over the configured database, and the owner's account id.
    static func withBots(_ options: ServerOptions, owner: String, _ body: (BotService, UUID) async throws -> Void) async throws {
        let configuration = try options.configuration()
        let logger = bootstrapLogging(level: .warning)
        let store = try await openStore(configuration: configuration, logger: logger)
        do {
            guard let person = try await store.users.find(.username(try Username(owner))) else {
                throw ValidationError("No account named \(owner).")
            }
            // The web tokens' secret plays no part in making bots.
            let services = try await AppServices(store: store, jwtSecret: UUID.random().uuidString + UUID.random().uuidString, bcryptCost: configuration.bcryptCost, logger: logger)
            try await body(services.bots, person.id)
        } catch let error as CourierError {
            try? await store.engine.close()
            throw ValidationError(error.message)
        } catch {
            try? await store.engine.close()
            throw error
        }
        try await store.engine.close()
    }
}
