import Foundation
import LiaisonCore

/// A copy's change of state in SQL, built from `CopyState`'s transitions so that a move cannot be allowed in
/// one place and refused in another: the update checks the state the copy is in as it moves, and the move
/// is recorded in `copy_event`. Written once for both engines.
enum CopyMoves {
    /// The update for a move into `target` from one of `sources` (fixed state names, never input); nil when
    /// no source may move there.
    static func sql(to target: CopyState, from sources: [CopyState]) -> String? {
        guard !sources.isEmpty else { return nil }
        return """
            UPDATE copy SET state = ?, updated_at = ?, attempts = COALESCE(?, attempts),
                next_attempt_at = ?, last_error = COALESCE(?, last_error)
            WHERE seq = ? AND state IN (\(sources.map { "'\($0.rawValue)'" }.joined(separator: ",")))
            """
    }

    /// The update for a move into each state, from every state the state machine permits.
    static let byTarget: [CopyState: String] = Dictionary(
        uniqueKeysWithValues: CopyState.allCases.compactMap { target in sql(to: target, from: CopyState.sources(of: target)).map { (target, $0) } })

    /// The update for `transition`, only from `sources` when given (an operator's action, which never moves a
    /// copy the deliverer has claimed meanwhile).
    static func sql(for transition: CopyTransition, onlyFrom sources: [CopyState]?) -> String? {
        guard let sources else { return byTarget[transition.to] }
        return sql(to: transition.to, from: sources.filter { $0.canMove(to: transition.to) })
    }

    /// The update's arguments, in its placeholders' order.
    static func arguments(_ transition: CopyTransition) -> [SQLValue] {
        [
            .text(transition.to.rawValue), .real(transition.at), SQLValue(transition.attempts), SQLValue(transition.nextAttemptAt),
            SQLValue(transition.error ?? transition.httpStatus.flatMap { (200..<300).contains($0) ? nil : "HTTP \($0)" }),
            .integer(transition.seq),
        ]
    }

    static let eventSQL = "INSERT INTO copy_event (copy_seq, at, state, reason, http_status, error) VALUES (?, ?, ?, ?, ?, ?)"

    /// The event's arguments, in `eventSQL`'s placeholders' order.
    static func eventArguments(_ transition: CopyTransition) -> [SQLValue] {
        [
            .integer(transition.seq), .real(transition.at), .text(transition.to.rawValue), .text(transition.reason),
            SQLValue(transition.httpStatus), SQLValue(transition.error),
        ]
    }

    /// Moves one copy and records the move; a move the state machine does not allow, or one from a state not in
    /// `sources`, is skipped.
    /// - Returns: whether it moved.
    @discardableResult
    static func move(_ session: any SQLSession, _ transition: CopyTransition, onlyFrom sources: [CopyState]? = nil) throws -> Bool {
        guard let sql = sql(for: transition, onlyFrom: sources), try session.execute(sql, arguments(transition)) > 0 else { return false }
        try session.execute(eventSQL, eventArguments(transition))
        return true
    }
}
