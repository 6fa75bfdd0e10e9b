import Crypto
import Foundation
import LiaisonCore

/// Staff accounts and their sessions, in the store: so that a restart signs no one out, and the operator's
/// `liaison staff` commands and the daemon see the same accounts. Secrets are kept only as SHA-256 digests (a
/// session's cookie, a set-up link's token) or bcrypt hashes (passwords).
public struct StaffAccounts: Sendable {
    let database: any SQLDatabase
    /// What of the layout the store has (a session is checked on every staff page: asked once).
    private let layout = StoreLayout.Cache()

    init(database: any SQLDatabase) {
        self.database = database
    }

    /// What can go wrong with an account change.
    public enum AccountError: Error, Sendable, Equatable, CustomStringConvertible {
        case exists(email: String)
        case unknown(email: String)
        /// The store has no staff tables yet: a daemon of this version has not opened it.
        case notUpgraded

        public var description: String {
            switch self {
            case .exists(let email): "a staff account for \(email) exists already"
            case .unknown(let email): "there is no staff account for \(email)"
            case .notUpgraded: "this store has no staff accounts yet: start the daemon once to upgrade it"
            }
        }
    }

    /// A random secret for a cookie or a link: 32 bytes, base64url without padding.
    public static func newSecret() -> String {
        Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// How a secret is kept: its SHA-256, in hex.
    public static func digest(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private static let columns = "id, email, name, party, roles, state, failed_sign_ins, locked_until"

    private static func member(_ row: SQLRow) throws -> StaffMember {
        let roles = try row.text("roles").split(separator: ",").compactMap { InboxRole(rawValue: String($0)) }
        let state = StaffAccount.State(rawValue: try row.text("state")) ?? .disabled
        let lockedUntil = row["locked_until"].real.map(Date.init(timeIntervalSince1970:))
        return StaffMember(
            id: try row.text("id"), email: try row.text("email"), name: try row.text("name"), party: try row.text("party"), roles: roles,
            account: StaffAccount(state: state, failedSignIns: try row.integer("failed_sign_ins"), lockedUntil: lockedUntil))
    }

    /// A SQLite store no daemon of this version has opened has no staff tables; a PostgreSQL one always has.
    private func checkUpgraded(_ session: any SQLSession) throws {
        guard try layout.read(session).staff else { throw AccountError.notUpgraded }
    }

    // MARK: Accounts

    /// Adds an invited account with a set-up link's token, good until `expires`.
    /// - Throws: `AccountError.exists` when the e-mail has an account.
    @discardableResult
    public func add(
        email: String, name: String, party: String, roles: [InboxRole], setupToken: String, expires: Date, now: Date
    ) throws -> StaffMember {
        let email = StaffMember.normalised(email: email)
        let member = StaffMember(
            id: UUID().uuidString.lowercased(), email: email, name: name, party: party, roles: roles,
            account: StaffAccount(state: .invited))
        try database.write { session in
            try checkUpgraded(session)
            guard try session.row("SELECT id FROM staff_member WHERE email = ?", [.text(email)]) == nil else {
                throw AccountError.exists(email: email)
            }
            try session.execute(
                """
                INSERT INTO staff_member (id, email, name, party, roles, state, setup_token_hash, setup_expires_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'invited', ?, ?, ?, ?)
                """,
                [
                    .text(member.id), .text(email), .text(name), .text(party), .text(roles.map(\.rawValue).joined(separator: ",")),
                    .text(Self.digest(setupToken)), .real(expires.timeIntervalSince1970), .real(now.timeIntervalSince1970),
                    .real(now.timeIntervalSince1970),
                ])
        }
        return member
    }

    /// Every account, by party and e-mail.
    public func list() throws -> [StaffMember] {
        try database.read { session in
            try checkUpgraded(session)
            return try session.rows("SELECT \(Self.columns) FROM staff_member ORDER BY party, email", []).map(Self.member)
        }
    }

    public func member(email: String) throws -> StaffMember? {
        try database.read { session in
            try checkUpgraded(session)
            return try session.row("SELECT \(Self.columns) FROM staff_member WHERE email = ?", [.text(StaffMember.normalised(email: email))])
                .map(Self.member)
        }
    }

    /// Disables an account and ends its sessions.
    /// - Throws: `AccountError.unknown` when the e-mail has no account.
    public func disable(email: String, now: Date) throws {
        let email = StaffMember.normalised(email: email)
        try database.write { session in
            try checkUpgraded(session)
            let changed = try session.execute(
                "UPDATE staff_member SET state = 'disabled', setup_token_hash = NULL, updated_at = ? WHERE email = ?",
                [.real(now.timeIntervalSince1970), .text(email)])
            guard changed == 1 else { throw AccountError.unknown(email: email) }
            try session.execute("DELETE FROM staff_session WHERE staff_id = (SELECT id FROM staff_member WHERE email = ?)", [.text(email)])
        }
    }

    /// Sends an account back to invited with a new set-up link, whatever its state: the password is cleared, a
    /// lock lifted, and its sessions ended.
    /// - Throws: `AccountError.unknown` when the e-mail has no account.
    public func reset(email: String, setupToken: String, expires: Date, now: Date) throws {
        let email = StaffMember.normalised(email: email)
        try database.write { session in
            try checkUpgraded(session)
            let changed = try session.execute(
                """
                UPDATE staff_member SET state = 'invited', password_hash = NULL, failed_sign_ins = 0, locked_until = NULL,
                    setup_token_hash = ?, setup_expires_at = ?, updated_at = ?
                WHERE email = ?
                """,
                [.text(Self.digest(setupToken)), .real(expires.timeIntervalSince1970), .real(now.timeIntervalSince1970), .text(email)])
            guard changed == 1 else { throw AccountError.unknown(email: email) }
            try session.execute("DELETE FROM staff_session WHERE staff_id = (SELECT id FROM staff_member WHERE email = ?)", [.text(email)])
        }
    }

    /// The invited account a set-up link's token belongs to, while the link is good.
    public func invited(setupToken: String, now: Date) throws -> StaffMember? {
        try database.read { session in
            try session.row(
                "SELECT \(Self.columns) FROM staff_member WHERE setup_token_hash = ? AND state = 'invited' AND setup_expires_at > ?",
                [.text(Self.digest(setupToken)), .real(now.timeIntervalSince1970)]
            ).map(Self.member)
        }
    }

    /// Sets the password of the invited account the token belongs to, once: the link is used up.
    /// - Returns: the account, now active; nil when the link is unknown, used or out of date.
    public func completeSetup(setupToken: String, passwordHash: String, now: Date) throws -> StaffMember? {
        try database.write { session in
            guard
                let id = try session.value(
                    "SELECT id FROM staff_member WHERE setup_token_hash = ? AND state = 'invited' AND setup_expires_at > ?",
                    [.text(Self.digest(setupToken)), .real(now.timeIntervalSince1970)])?.text
            else { return nil }
            // The link is used up as the password is set: of two uses at once, one finds it gone.
            let changed = try session.execute(
                """
                UPDATE staff_member SET state = 'active', password_hash = ?, setup_token_hash = NULL, setup_expires_at = NULL,
                    failed_sign_ins = 0, locked_until = NULL, updated_at = ?
                WHERE id = ? AND state = 'invited'
                """, [.text(passwordHash), .real(now.timeIntervalSince1970), .text(id)])
            guard changed == 1 else { return nil }
            return try session.row("SELECT \(Self.columns) FROM staff_member WHERE id = ?", [.text(id)]).map(Self.member)
        }
    }

    /// An account and its password hash, to check a sign-in against.
    public func credentials(email: String) throws -> (member: StaffMember, passwordHash: String?)? {
        try database.read { session in
            try session.row(
                "SELECT \(Self.columns), password_hash FROM staff_member WHERE email = ?", [.text(StaffMember.normalised(email: email))]
            ).map { (try Self.member($0), $0["password_hash"].text) }
        }
    }

    /// Counts one failed sign-in on the account, read and written in one transaction so that sign-ins at once
    /// each count: the account is locked once the failures reach the policy's limit. A locked account's
    /// failures are not counted (its lock is not lengthened or undone).
    /// - Returns: the account after, and whether this failure locked it.
    public func recordFailedSignIn(of member: StaffMember, policy: StaffSignInPolicy, now: Date) throws
        -> (account: StaffAccount, lockedNow: Bool)
    {
        try database.write { session in
            // The row is locked as it is read (PostgreSQL), so that sign-ins at once through two instances each count.
            let lock = session.dialect == .postgres ? " FOR UPDATE" : ""
            guard let row = try session.row("SELECT \(Self.columns) FROM staff_member WHERE id = ?\(lock)", [.text(member.id)]) else {
                return (member.account, false)
            }
            let current = try Self.member(row).account
            guard !current.isLocked(at: now) else { return (current, false) }
            let (account, lockedNow) = policy.failed(current, at: now)
            try session.execute(
                "UPDATE staff_member SET failed_sign_ins = ?, locked_until = ?, updated_at = ? WHERE id = ?",
                [
                    .integer(Int64(account.failedSignIns)), SQLValue(account.lockedUntil?.timeIntervalSince1970), .real(now.timeIntervalSince1970),
                    .text(member.id),
                ])
            return (account, lockedNow)
        }
    }

    /// Forgets the failures of an account that signed in; a lock in force is left as it is.
    public func recordSignIn(of member: StaffMember, now: Date) throws {
        try database.write { session in
            try session.execute(
                """
                UPDATE staff_member SET failed_sign_ins = 0, updated_at = ?
                WHERE id = ? AND failed_sign_ins > 0 AND (locked_until IS NULL OR locked_until <= ?)
                """, [.real(now.timeIntervalSince1970), .text(member.id), .real(now.timeIntervalSince1970)])
        }
    }

    // MARK: Sessions

    /// A signed-in session: whose, and the token its forms must carry.
    public struct Session: Sendable, Equatable {
        public let member: StaffMember
        public let csrfToken: String
        public let lastSeen: Date
        public let created: Date
    }

    /// Starts a session for `member` under the digest of its cookie.
    public func startSession(cookie: String, csrfToken: String, for member: StaffMember, now: Date) throws {
        try database.write { session in
            try session.execute(
                "INSERT INTO staff_session (token_hash, staff_id, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                [.text(Self.digest(cookie)), .text(member.id), .text(csrfToken), .real(now.timeIntervalSince1970), .real(now.timeIntervalSince1970)])
        }
    }

    /// The session of a cookie, with its member, when the member is still active.
    public func session(cookie: String) throws -> Session? {
        try database.read { session in
            guard try layout.read(session).staff else { return nil }
            return try session.row(
                """
                SELECT m.id, m.email, m.name, m.party, m.roles, m.state, m.failed_sign_ins, m.locked_until,
                    s.csrf_token, s.last_seen_at, s.created_at
                FROM staff_session s JOIN staff_member m ON m.id = s.staff_id
                WHERE s.token_hash = ? AND m.state = 'active'
                """, [.text(Self.digest(cookie))]
            ).map { row in
                Session(
                    member: try Self.member(row), csrfToken: try row.text("csrf_token"),
                    lastSeen: Date(timeIntervalSince1970: try row.real("last_seen_at")),
                    created: Date(timeIntervalSince1970: try row.real("created_at")))
            }
        }
    }

    /// Notes that the session was used at `now` (what its idle time is counted from).
    public func touch(cookie: String, now: Date) throws {
        try database.write { session in
            try session.execute(
                "UPDATE staff_session SET last_seen_at = ? WHERE token_hash = ?", [.real(now.timeIntervalSince1970), .text(Self.digest(cookie))])
        }
    }

    /// Ends the session of a cookie.
    public func endSession(cookie: String) throws {
        try database.write { session in try session.execute("DELETE FROM staff_session WHERE token_hash = ?", [.text(Self.digest(cookie))]) }
    }

    /// Deletes sessions idle since before `idleBefore` or started before `startedBefore`.
    /// - Returns: how many were deleted.
    @discardableResult
    public func endStaleSessions(idleBefore: Date, startedBefore: Date) throws -> Int {
        try database.write { session in
            guard try layout.read(session).staff else { return 0 }
            return try session.execute(
                "DELETE FROM staff_session WHERE last_seen_at < ? OR created_at < ?",
                [.real(idleBefore.timeIntervalSince1970), .real(startedBefore.timeIntervalSince1970)])
        }
    }
}
