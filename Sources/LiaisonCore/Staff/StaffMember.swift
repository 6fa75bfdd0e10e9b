import Foundation

/// A person at a party who reads and answers its notices in the staff pages: one party, one or more of its
/// roles (the roles are its inboxes).
public struct StaffMember: Sendable, Equatable {
    public let id: String
    /// In lower case: how they sign in.
    public let email: String
    public let name: String
    public let party: String
    public let roles: [InboxRole]
    public var account: StaffAccount

    public init(id: String, email: String, name: String, party: String, roles: [InboxRole], account: StaffAccount) {
        self.id = id
        self.email = email
        self.name = name
        self.party = party
        self.roles = roles
        self.account = account
    }

    /// The inboxes the member reads: their party's, for each of their roles.
    public var inboxes: [Address] { roles.map { Address(party, $0) } }

    /// An e-mail address in the one form accounts are kept under.
    public static func normalised(email: String) -> String {
        email.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// Whether `text` looks like an e-mail address (something@something.something, no spaces).
    public static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        return !text.contains { $0.isWhitespace || $0.isNewline } && text.count <= 254
    }
}

/// A staff account's life, with every move in one place: invited (a set-up link, no password yet), active,
/// locked for a while after repeated failed sign-ins, and disabled by an operator. A reset sends any account
/// back to invited with a new set-up link.
public struct StaffAccount: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case invited
        case active
        case disabled
    }

    public var state: State
    /// Failed sign-ins since the last good one.
    public var failedSignIns: Int
    /// Until when sign-in is refused after too many failures.
    public var lockedUntil: Date?

    public init(state: State, failedSignIns: Int = 0, lockedUntil: Date? = nil) {
        self.state = state
        self.failedSignIns = failedSignIns
        self.lockedUntil = lockedUntil
    }

    /// Whether sign-in is refused for failures at `now`.
    public func isLocked(at now: Date) -> Bool { lockedUntil.map { now < $0 } ?? false }

    /// What a sign-in with the right password gets at `now`.
    public enum SignIn: Equatable, Sendable {
        case allowed
        /// The account has no password yet: its set-up link first.
        case notSetUp
        case disabled
        case locked(until: Date)
    }

    public func signIn(at now: Date) -> SignIn {
        switch state {
        case .invited: .notSetUp
        case .disabled: .disabled
        case .active: lockedUntil.flatMap { isLocked(at: now) ? .locked(until: $0) : nil } ?? .allowed
        }
    }
}

/// How repeated failed sign-ins slow down and then lock an account (configured under `staff`).
public struct StaffSignInPolicy: Sendable, Equatable {
    /// Failures answered at once; each after these waits longer.
    public var slowAfter: Int
    /// The longest wait before a failure is answered.
    public var longestDelay: TimeInterval
    /// Failures in a row that lock the account.
    public var lockAfter: Int
    /// How long a lock lasts (an operator's `staff reset` ends it sooner).
    public var lockFor: TimeInterval

    public init(slowAfter: Int = 2, longestDelay: TimeInterval = 8, lockAfter: Int = 5, lockFor: TimeInterval = 900) {
        self.slowAfter = slowAfter
        self.longestDelay = longestDelay
        self.lockAfter = lockAfter
        self.lockFor = lockFor
    }

    /// How long to wait before answering the `failures`th failure in a row: nothing at first, then doubling
    /// from a second to the longest delay.
    public func delay(afterFailures failures: Int) -> TimeInterval {
        guard failures > slowAfter else { return 0 }
        return min(longestDelay, pow(2, Double(min(failures - slowAfter - 1, 30))))
    }

    /// The account after one more failed sign-in at `now`: locked once the failures reach the limit.
    /// - Returns: the account, and whether this failure locked it.
    public func failed(_ account: StaffAccount, at now: Date) -> (StaffAccount, lockedNow: Bool) {
        var account = account
        account.failedSignIns += 1
        if account.failedSignIns >= lockAfter, !account.isLocked(at: now) {
            account.lockedUntil = now.addingTimeInterval(lockFor)
            account.failedSignIns = 0
            return (account, true)
        }
        return (account, false)
    }
}
