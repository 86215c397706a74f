@testable import CourierCore
import Testing

@Suite("SearchText")
struct SearchTextTests {
    @Test func wordsAreFoldedForCaseDiacriticsAndWidth() {
        #expect(SearchText.words("Äpple, CAFÉ au lait! ｕｎｉｃｏｄｅ 42x") == ["apple", "cafe", "au", "lait", "unicode", "42x"])
        #expect(SearchText.words("  ...  ").isEmpty)
        #expect(SearchText.words("@alice_bob#tag") == ["alice", "bob", "tag"])
        #expect(SearchText.words(String(repeating: "a", count: 100)) == [String(repeating: "a", count: SearchText.maxWordCharacters)])
    }

    @Test func aMessageIsIndexedByItsWordsAndTwoPrefixesEach() {
        #expect(SearchText.indexTokens("Hello hello go") == ["w:hello", "p3:hel", "p5:hello", "w:go"])
        // Bounded, however long the text.
        let long = (0..<5000).map { "word\($0)" }.joined(separator: " ")
        #expect(SearchText.indexTokens(long).count <= SearchText.maxTokensPerMessage)
    }

    @Test func theLastTermMatchesAsTypedTheOthersAsWholeWords() throws {
        let query = try #require(SearchText.Query("apple reci"))
        #expect(query.tokens == ["w:apple", "p3:rec"])
        #expect(query.matches("Apple pie RECIPE"))
        #expect(!query.matches("pineapple recipe"))
        #expect(!query.matches("apple pie"))
        let long = try #require(SearchText.Query("messag"))
        #expect(long.tokens == ["p5:messa"])
        #expect(long.matches("messages") && long.matches("messaging") && !long.matches("messa"))
        let short = try #require(SearchText.Query("to"))
        #expect(short.tokens == ["w:to"] && short.matches("nice to see") && !short.matches("tomorrow"))
        #expect(SearchText.Query("!!! ...") == nil)
        #expect(try #require(SearchText.Query((0..<20).map { "t\($0)" }.joined(separator: " "))).terms.count == SearchText.maxQueryTerms)
    }

    @Test func theSnippetIsTheTextAroundTheFirstMatch() throws {
        let query = try #require(SearchText.Query("needle"))
        let text = String(repeating: "hay ", count: 60) + "the Needle here " + String(repeating: "straw ", count: 60)
        let snippet = query.snippet(of: text)
        #expect(snippet.hasPrefix("…") && snippet.hasSuffix("…") && snippet.contains("the Needle here"))
        #expect(snippet.count <= 122)
        #expect(query.snippet(of: "short needle") == "short needle")
    }
}

@Suite("Reaction")
struct ReactionTests {
    @Test func onlyASingleEmojiIsAReaction() throws {
        for good in ["👍", "❤️", "👨‍👩‍👧‍👦", "🇫🇷", "🔥"] { #expect(try Reaction.emoji(good) == good) }
        for bad in ["", "a", "1", "#", "👍👍", "👍 ", "ok", "☃x"] {
            #expect(throws: CourierError.self) { try Reaction.emoji(bad) }
        }
    }
}
