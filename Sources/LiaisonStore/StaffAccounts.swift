import Crypto
import Foundation
import GRDB
import LiaisonCore

/// Staff accounts and their sessions, in the store: so that a restart signs no one out, and the operator's
/// `liaison staff` commands and the daemon see the same accounts. Secrets are kept only as SHA-256 digests (a
/// session's cookie, a set-up link's token) or bcrypt hashes (passwords).
public struct StaffAccounts: Sendable {
    let pool: DatabasePool

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Opens the store file for an operator's command (the daemon creates and upgrades it).
    public init(path: String) throws {
        pool = try QueueOperator(path: path).pool
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

    private static func member(_ row: Row) -> StaffMember {
        let roles = (row["roles"] as String).split(separator: ",").compactMap { InboxRole(rawValue: String($0)) }
        let state = StaffAccount.State(rawValue: row["state"]) ?? .disabled
        let lockedUntil = (row["locked_until"] as Double?).map(Date.init(timeIntervalSince1970:))
        return StaffMember(
            id: row["id"], email: row["email"], name: row["name"], party: row["party"], roles: roles,
            account: StaffAccount(state: state, failedSignIns: row["failed_sign_ins"], lockedUntil: lockedUntil))
    }

    private func checkUpgraded(_ db: Database) throws {
        guard try db.tableExists("staff_member") else { throw AccountError.notUpgraded }
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
        try pool.write { db in
            try checkUpgraded(db)
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM staff_member WHERE email = ?)", arguments: [email]) == false
            else { throw AccountError.exists(email: email) }
            try db.execute(
                sql: """
                    INSERT INTO staff_member (id, email, name, party, roles, state, setup_token_hash, setup_expires_at, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, 'invited', ?, ?, ?, ?)
                    """,
                arguments: [
                    member.id, email, name, party, roles.map(\.rawValue).joined(separator: ","), Self.digest(setupToken),
                    expires.timeIntervalSince1970, now.timeIntervalSince1970, now.timeIntervalSince1970,
                ])
        }
        return member
    }

    /// Every account, by party and e-mail.
    public func list() throws -> [StaffMember] {
        try pool.read { db in
            try checkUpgraded(db)
            return try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM staff_member ORDER BY party, email").map(Self.member)
        }
    }

    public func member(email: String) throws -> StaffMember? {
        try pool.read { db in
            try checkUpgraded(db)
            return try Row.fetchOne(
                db, sql: "SELECT \(Self.columns) FROM staff_member WHERE email = ?", arguments: [StaffMember.normalised(email: email)]
            ).map(Self.member)
        }
    }

    /// Disables an account and ends its sessions.
    /// - Throws: `AccountError.unknown` when the e-mail has no account.
    public func disable(email: String, now: Date) throws {
        let email = StaffMember.normalised(email: email)
        try pool.write { db in
            try checkUpgraded(db)
            try db.execute(
                sql: "UPDATE staff_member SET state = 'disabled', setup_token_hash = NULL, updated_at = ? WHERE email = ?",
                arguments: [now.timeIntervalSince1970, email])
            guard db.changesCount == 1 else { throw AccountError.unknown(email: email) }
            try db.execute(
                sql: "DELETE FROM staff_session WHERE staff_id = (SELECT id FROM staff_member WHERE email = ?)", arguments: [email])
        }
    }

    /// Sends an account back to invited with a new set-up link, whatever its state: the password is cleared, a
    /// lock lifted, and its sessions ended.
    /// - Throws: `AccountError.unknown` when the e-mail has no account.
    public func reset(email: String, setupToken: String, expires: Date, now: Date) throws {
        let email = StaffMember.normalised(email: email)
        try pool.write { db in
            try checkUpgraded(db)
            try db.execute(
                sql: """
                    UPDATE staff_member SET state = 'invited', password_hash = NULL, failed_sign_ins = 0, locked_until = NULL,
                        setup_token_hash = ?, setup_expires_at = ?, updated_at = ?
                    WHERE email = ?
                    """,
                arguments: [Self.digest(setupToken), expires.timeIntervalSince1970, now.timeIntervalSince1970, email])
            guard db.changesCount == 1 else { throw AccountError.unknown(email: email) }
            try db.execute(
                sql: "DELETE FROM staff_session WHERE staff_id = (SELECT id FROM staff_member WHERE email = ?)", arguments: [email])
        }
    }

    /// The invited account a set-up link's token belongs to, while the link is good.
    public func invited(setupToken: String, now: Date) throws -> StaffMember? {
        try pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT \(Self.columns) FROM staff_member
                    WHERE setup_token_hash = ? AND state = 'invited' AND setup_expires_at > ?
                    """, arguments: [Self.digest(setupToken), now.timeIntervalSince1970]
            ).map(Self.member)
        }
    }

    /// Sets the password of the invited account the token belongs to, once: the link is used up.
    /// - Returns: the account, now active; nil when the link is unknown, used or out of date.
    public func completeSetup(setupToken: String, passwordHash: String, now: Date) throws -> StaffMember? {
        try pool.write { db in
            guard
                let id = try String.fetchOne(
                    db, sql: "SELECT id FROM staff_member WHERE setup_token_hash = ? AND state = 'invited' AND setup_expires_at > ?",
                    arguments: [Self.digest(setupToken), now.timeIntervalSince1970])
            else { return nil }
            try db.execute(
                sql: """
                    UPDATE staff_member SET state = 'active', password_hash = ?, setup_token_hash = NULL, setup_expires_at = NULL,
                        failed_sign_ins = 0, locked_until = NULL, updated_at = ?
                    WHERE id = ?
                    """, arguments: [passwordHash, now.timeIntervalSince1970, id])
            return try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM staff_member WHERE id = ?", arguments: [id]).map(Self.member)
        }
    }

    /// An account and its password hash, to check a sign-in against.
    public func credentials(email: String) throws -> (member: StaffMember, passwordHash: String?)? {
        try pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.columns), password_hash FROM staff_member WHERE email = ?",
                arguments: [StaffMember.normalised(email: email)]
            ).map { (Self.member($0), $0["password_hash"]) }
        }
    }

    /// Counts one failed sign-in on the account, read and written in one transaction so that sign-ins at once
    /// each count: the account is locked once the failures reach the policy's limit. A locked account's
    /// failures are not counted (its lock is not lengthened or undone).
    /// - Returns: the account after, and whether this failure locked it.
    public func recordFailedSignIn(of member: StaffMember, policy: StaffSignInPolicy, now: Date) throws
        -> (account: StaffAccount, lockedNow: Bool)
    {
        try pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM staff_member WHERE id = ?", arguments: [member.id]) else {
                return (member.account, false)
            }
            let current = Self.member(row).account
            guard !current.isLocked(at: now) else { return (current, false) }
            let (account, lockedNow) = policy.failed(current, at: now)
            try db.execute(
                sql: "UPDATE staff_member SET failed_sign_ins = ?, locked_until = ?, updated_at = ? WHERE id = ?",
                arguments: [account.failedSignIns, account.lockedUntil?.timeIntervalSince1970, now.timeIntervalSince1970, member.id])
            return (account, lockedNow)
        }
    }

    /// Forgets the failures of an account that signed in; a lock in force is left as it is.
    public func recordSignIn(of member: StaffMember, now: Date) throws {
        try pool.write { db in
            try db.execute(
                sql: """
                    UPDATE staff_member SET failed_sign_ins = 0, updated_at = ?
                    WHERE id = ? AND failed_sign_ins > 0 AND (locked_until IS NULL OR locked_until <= ?)
                    """, arguments: [now.timeIntervalSince1970, member.id, now.timeIntervalSince1970])
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
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO staff_session (token_hash, staff_id, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [Self.digest(cookie), member.id, csrfToken, now.timeIntervalSince1970, now.timeIntervalSince1970])
        }
    }

    /// The session of a cookie, with its member, when the member is still active.
    public func session(cookie: String) throws -> Session? {
        try pool.read { db in
            guard try db.tableExists("staff_session") else { return nil }
            return try Row.fetchOne(
                db,
                sql: """
                    SELECT m.id, m.email, m.name, m.party, m.roles, m.state, m.failed_sign_ins, m.locked_until,
                        s.csrf_token, s.last_seen_at, s.created_at
                    FROM staff_session s JOIN staff_member m ON m.id = s.staff_id
                    WHERE s.token_hash = ? AND m.state = 'active'
                    """, arguments: [Self.digest(cookie)]
            ).map { row in
                Session(
                    member: Self.member(row), csrfToken: row["csrf_token"],
                    lastSeen: Date(timeIntervalSince1970: row["last_seen_at"]), created: Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    /// Notes that the session was used at `now` (what its idle time is counted from).
    public func touch(cookie: String, now: Date) throws {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE staff_session SET last_seen_at = ? WHERE token_hash = ?", arguments: [now.timeIntervalSince1970, Self.digest(cookie)])
        }
    }

    /// Ends the session of a cookie.
    public func endSession(cookie: String) throws {
        try pool.write { db in try db.execute(sql: "DELETE FROM staff_session WHERE token_hash = ?", arguments: [Self.digest(cookie)]) }
    }

    /// Deletes sessions idle since before `idleBefore` or started before `startedBefore`.
    /// - Returns: how many were deleted.
    @discardableResult
    public func endStaleSessions(idleBefore: Date, startedBefore: Date) throws -> Int {
        try pool.write { db in
            guard try db.tableExists("staff_session") else { return 0 }
            try db.execute(
                sql: "DELETE FROM staff_session WHERE last_seen_at < ? OR created_at < ?",
                arguments: [idleBefore.timeIntervalSince1970, startedBefore.timeIntervalSince1970])
            return db.changesCount
        }
    }
}
