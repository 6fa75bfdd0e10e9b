import LiaisonCore
import Testing

@Suite struct NINOTests {
    @Test func normalisesSpacesAndCase() {
        #expect(NINO("ab 12 34 56 c")?.value == "AB123456C")
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

    @Test func masksTheDigits() {
        #expect(NINO("AB123456C")!.masked == "AB12****C")
        #expect("\(NINO("AB123456C")!)" == "AB12****C")
    }
}
