/// A National Insurance number, normalised (spaces removed, upper case) and validated as PROTOCOL.md says.
public struct NINO: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The normalised nine characters.
    public let value: String

    private static let firstLetters: StaticString = "ABCEGHJKLMNOPRSTWXYZ"
    private static let secondLetters: StaticString = "ABCEGHJKLMNPRSTWXYZ"
    private static let forbiddenPrefixes: Set<String> = ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"]
    private static let suffixes: StaticString = "ABCD"

    /// Whether the ASCII `character` is one of `letters`.
    private static func isOne(of letters: StaticString, _ character: Character) -> Bool {
        guard let byte = character.asciiValue else { return false }
        return isOne(of: letters, byte)
    }

    private static func isOne(of letters: StaticString, _ byte: UInt8) -> Bool {
        letters.withUTF8Buffer { $0.contains(byte) }
    }

    /// Normalises and validates `text`; nil when it is not a valid NINO.
    public init?(_ text: String) {
        // Nearly every NINO arrives as plain ASCII: check its bytes directly. Anything else takes the general
        // path below, which normalises Unicode spaces and case first.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            guard let value = NINO.validatedASCII(text) else { return nil }
            self.value = value
            return
        }
        let normalised = String(text.filter { !$0.isWhitespace }).uppercased()
        let characters = Array(normalised)
        guard characters.count == 9,
            NINO.isOne(of: NINO.firstLetters, characters[0]), NINO.isOne(of: NINO.secondLetters, characters[1]),
            !NINO.forbiddenPrefixes.contains(String(characters[0...1])),
            characters[2...7].allSatisfy({ $0.isASCII && $0.isNumber }),
            NINO.isOne(of: NINO.suffixes, characters[8])
        else { return nil }
        self.value = normalised
    }

    /// The ASCII `text` without its spaces, in upper case, when it is a valid NINO.
    private static func validatedASCII(_ text: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(9)
        for byte in text.utf8 {
            switch byte {
            case 0x09...0x0D, 0x20: continue  // ASCII whitespace, as Character.isWhitespace has it
            case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(byte - 0x20)
            default: bytes.append(byte)
            }
            if bytes.count > 9 { return nil }
        }
        guard bytes.count == 9, isOne(of: firstLetters, bytes[0]), isOne(of: secondLetters, bytes[1]),
            bytes[2...7].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), isOne(of: suffixes, bytes[8])
        else { return nil }
        let value = String(decoding: bytes, as: UTF8.self)
        return forbiddenPrefixes.contains(String(value.prefix(2))) ? nil : value
    }

    /// The key a person's records are filed under: the first 8 characters, so that the suffix letter
    /// does not split one person into two.
    public var personKey: String { String(value.prefix(8)) }

    /// The NINO with its digits and suffix hidden (`AB12****`), safe for logs and error details: the same for
    /// every message about the claimant, whatever suffix each gave, and the same as `maskPersonKey` makes of
    /// the key the claimant's records are filed under, so a claimant reads alike in every log line, in
    /// `queue show` and in `queue list`.
    public var masked: String { NINO.maskPersonKey(personKey) }

    /// Masks any NINO-like text for logs: of nine printable ASCII characters (a NINO's length) it keeps the
    /// first four, as for a valid NINO; of any other length only the first two, since the end of such text
    /// (a NINO without its suffix letter, say, or one with spaces) may be its digits.
    public static func mask(_ text: String) -> String {
        if text.utf8.count == 9, text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return maskPersonKey(String(text.prefix(8)))
        }
        let characters = Array(text)
        guard characters.count > 2 else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(2)) + String(repeating: "*", count: characters.count - 2)
    }

    /// Masks a person key (the first 8 characters of a NINO): its first four, then `****` (`AB12****`).
    public static func maskPersonKey(_ key: String) -> String { String(key.prefix(4)) + "****" }

    public var description: String { masked }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let nino = NINO(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid NINO")
        }
        self = nino
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
