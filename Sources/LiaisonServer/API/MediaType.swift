import Foundation

/// What a request body's `Content-Type` says it is.
enum MediaType {
    /// Whether `header` is `application/json`, in any case, with no parameter but a UTF-8 charset
    /// (`application/json; charset=utf-8`): the only body the API reads.
    static func isJSON(_ header: String?) -> Bool {
        guard let header else { return false }
        let parts = header.split(separator: ";", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.first == "application/json" else { return false }
        return parts.dropFirst().allSatisfy { parameter in
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return pair.count == 2 && pair[0] == "charset" && ["utf-8", "utf8", "\"utf-8\""].contains(pair[1])
        }
    }
}
