import LiaisonCore
import Testing

@Suite struct NINOTests {
    @Test func normalisesSpacesAndCase() {
        #expect(NINO("ab 12 34 56 c")?.value == "AB123456C")
    }

    @Test(arguments: ["ab\t12 34\n56c", "AB 123 456 C", "AB\u{00A0}123456C", " ab123456c ", "Ab12\r\n3456C"])
    func ignoresSpacesOfEveryKindAndCase(text: String) {
        #expect(NINO(text)?.value == "AB123456C")
    }

    @Test(arguments: ["AB123456C\u{0301}", "AB12345\u{0661}C", "A\u{0042}\u{200B}123456C", "AB123456CC", "AB123456 C D"])
    func refusesWhatOnlyLooksLikeANumber(text: String) {
        #expect(NINO(text) == nil)
    }

    @Test(arguments: ["AB123456C", "CE654321A", "ZY000000D", "JH123456B"])
    func acceptsValidNumbers(text: String) {
        #expect(NINO(text) != nil)
    }

    @Test(arguments: [
        "QQ123456C", "DA123456C", "AD123456C", "AO123456C", "BG123456C", "GB123456C", "KN123456C", "NK123456C",
        "NT123456C", "TN123456C", "ZZ123456C", "AB123456E", "AB12345C", "AB1234567C", "AB12345XC", "",
    ])
    func refusesInvalidNumbers(text: String) {
        #expect(NINO(text) == nil)
    }

    @Test func aPersonIsKeyedOnTheFirstEightCharacters() {
        #expect(NINO("AB123456C")!.personKey == NINO("AB123456D")!.personKey)
    }

    @Test func masksNINOLikeTextCharacterByCharacter() {
        // Nine bytes of printable ASCII keep the first four characters, as a NINO does; any other text only its
        // first two characters (here "\r\n" is one character).
        #expect(NINO.mask("ab123456c") == "ab12****")
        #expect(NINO.mask("AB 12 34 ") == "AB 1****")
        #expect(NINO.mask("AB1\r\n456C") == "AB******")
        #expect(NINO.mask("AB1é3456") == "AB******")
        #expect(NINO.mask("AB12") == "AB**")
        #expect(NINO.mask("AB") == "**")
        #expect(NINO.mask("AB123456CD") == "AB********")
        // Without its suffix letter, or spaced as on a letter, no digit shows.
        #expect(NINO.mask("AB123456") == "AB******")
        #expect(NINO.mask("AB 12 34 56 C") == "AB***********")
    }

    @Test func masksTheDigitsAndTheSuffixAlikeForEveryMessageAboutTheClaimant() {
        #expect(NINO("AB123456C")!.masked == "AB12****")
        #expect("\(NINO("AB123456C")!)" == "AB12****")
        // The suffix does not split a person, and does not show: a claimant reads alike whichever a sender gave,
        // and alike from the key the records are filed under (the deliverer's and the queue commands' lines).
        #expect(NINO("AB123456D")!.masked == NINO("AB123456C")!.masked)
        #expect(NINO.maskPersonKey("AB123456") == NINO("AB123456C")!.masked)
    }
}
