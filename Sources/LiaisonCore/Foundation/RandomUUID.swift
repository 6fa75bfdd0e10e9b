/// Version 4 UUIDs in lower case, from the system's secure random source (`getrandom`). Foundation's
/// `UUID()` opens, reads and closes `/dev/urandom` for each one on Linux; this is one call per half.
public enum RandomUUID {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0xC000 << 48)) | (0x8000 << 48)  // variant 10xx
        var text = [UInt8](repeating: 0, count: 36)
        var position = 0
        for nibble in 0..<32 {
            if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                text[position] = UInt8(ascii: "-")
                position += 1
            }
            let word = nibble < 16 ? high : low
            let shift = UInt64(60 - (nibble % 16) * 4)
            text[position] = digits[Int((word >> shift) & 0xF)]
            position += 1
        }
        return String(decoding: text, as: UTF8.self)
    }
}
