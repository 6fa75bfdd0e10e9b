import LiaisonCore

/// A routed copy's id: its message's id and its address, e.g. `0d6c6c2e-…-5f4b8b3f2a11/jcp-leeds/spoc`.
///
/// A message has at most one copy per address, so the pair is unique; it is derived rather than stored, and
/// stays the same across retries, restarts and even a store restored from backup, so a receiver that
/// deduplicates on `webhook-id` never mistakes a new copy for an old one.
enum CopyID {
    /// The SQL expression of a copy's id, with the copy as `c` and its message as `m`.
    static let sql = "(m.id || '/' || c.address)"

    /// The message id and (for a copy id) the address of an id given by an operator or a pull inbox.
    /// Message ids are UUIDs, so the first `/` ends the message id.
    /// The message id as given, and the address for a copy id.
    static func parse(_ id: String) -> (messageID: String, address: String?) {
        guard let slash = id.firstIndex(of: "/") else { return (id, nil) }
        return (String(id[..<slash]), String(id[id.index(after: slash)...]))
    }

    /// The message ids a given one may be stored as: as given, and in lower case, as ids are stored (a UUID
    /// is the same in either case; only a message accepted twice before ids were lowered is stored in both).
    static func storedForms(_ messageID: String) -> [String] {
        let lowered = UUIDText.normalised(messageID)
        return lowered == messageID ? [messageID] : [messageID, lowered]
    }

    /// A condition matching the copies of a copy id or of a message id, with its arguments.
    static func condition(_ id: String) -> (sql: String, arguments: [String]) {
        let (messageID, address) = parse(id)
        let forms = storedForms(messageID)
        let match = forms.count == 1 ? "m.id = ?" : "m.id IN (?, ?)"
        guard let address else { return (match, forms) }
        return ("\(match) AND c.address = ?", forms + [address])
    }
}
