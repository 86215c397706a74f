import Foundation

/// How text becomes searchable words, for the index and for queries alike.
///
/// Words are runs of letters and digits, compared without case, diacritics or width ("Ünïcode",
/// "unicode" and "ｕｎｉｃｏｄｅ" are one word). A message is indexed by its words and, for
/// search-as-you-type, by the first 3 and the first 5 characters of each: a query's last term
/// matches as a prefix through the longest of those it reaches, and every hit is checked against
/// the decrypted text, so a shorter indexed prefix costs a few more candidates, never a wrong hit.
/// Two prefix lengths keep the index at about three entries per distinct word.
public enum SearchText {
    /// Terms of a query beyond this are ignored.
    public static let maxQueryTerms = 8
    /// Longest query, in characters.
    public static let maxQueryCharacters = 256
    /// A word is indexed and matched by its first this many characters.
    public static let maxWordCharacters = 64
    /// Entries a message adds to the index at most (words past this are not indexed).
    public static let maxTokensPerMessage = 1024
    /// The prefix lengths indexed for search-as-you-type.
    static let prefixLengths = [3, 5]

    /// `text` folded for comparison: lowercased, without diacritics, compatibility forms unified.
    public static func folded(_ text: some StringProtocol) -> String {
        String(text).precomposedStringWithCompatibilityMapping
            .folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
    }

    /// The folded words of `text`, in order (each cut to `maxWordCharacters`).
    public static func words(_ text: some StringProtocol) -> [String] {
        var words: [String] = []
        var current = ""
        for character in folded(text) {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                words.append(String(current.prefix(maxWordCharacters)))
                current = ""
            }
        }
        if !current.isEmpty { words.append(String(current.prefix(maxWordCharacters))) }
        return words
    }

    /// What a message with `text` is indexed under: its words and their prefixes, at most
    /// `maxTokensPerMessage`.
    public static func indexTokens(_ text: some StringProtocol) -> Set<String> {
        var tokens = Set<String>()
        for word in words(text) {
            guard tokens.count < maxTokensPerMessage - prefixLengths.count else { break }
            tokens.insert(wordToken(word))
            for length in prefixLengths where word.count >= length {
                tokens.insert(prefixToken(word, length: length))
            }
        }
        return tokens
    }

    static func wordToken(_ word: String) -> String { "w:" + word }
    static func prefixToken(_ word: String, length: Int) -> String { "p\(length):" + word.prefix(length) }

    /// A parsed query: every term but the last must be a whole word of the message; the last is
    /// typed so far and matches the start of a word (a term of one or two characters, a whole word).
    public struct Query: Sendable, Equatable {
        public let terms: [String]

        /// nil when the text has no word to look for.
        public init?(_ text: String) {
            let terms = Array(SearchText.words(text.prefix(SearchText.maxQueryCharacters)).prefix(SearchText.maxQueryTerms))
            guard !terms.isEmpty else { return nil }
            self.terms = terms
        }

        /// The index entry of each term, the last as a prefix where it is long enough.
        public var tokens: [String] {
            terms.enumerated().map { index, term in
                guard index == terms.count - 1, let length = SearchText.prefixLengths.last(where: { term.count >= $0 }) else {
                    return SearchText.wordToken(term)
                }
                return SearchText.prefixToken(term, length: length)
            }
        }

        /// Whether a message with `text` really matches (the index narrows, this decides).
        public func matches(_ text: some StringProtocol) -> Bool {
            let words = SearchText.words(text)
            let whole = Set(words)
            for (index, term) in terms.enumerated() {
                let isTyped = index == terms.count - 1 && term.count >= SearchText.prefixLengths[0]
                if isTyped ? !words.contains(where: { $0.hasPrefix(term) }) : !whole.contains(term) { return false }
            }
            return true
        }

        /// Up to `length` characters of `text` around the first word that matches a term, with
        /// an ellipsis where it was cut: the hit in its context.
        public func snippet(of text: String, length: Int = 120) -> String {
            guard text.count > length else { return text }
            let characters = Array(text)
            // Find the first character where a matching word begins.
            var start = 0
            var index = 0
            while index < characters.count {
                guard characters[index].isLetter || characters[index].isNumber else {
                    index += 1
                    continue
                }
                var end = index
                while end < characters.count, characters[end].isLetter || characters[end].isNumber { end += 1 }
                let word = SearchText.folded(String(characters[index..<end]))
                if terms.contains(where: { word.hasPrefix($0) }) {
                    start = index
                    break
                }
                index = end
            }
            let from = max(0, min(start - length / 4, characters.count - length))
            let to = min(characters.count, from + length)
            return (from > 0 ? "…" : "") + String(characters[from..<to]) + (to < characters.count ? "…" : "")
        }
    }
}
