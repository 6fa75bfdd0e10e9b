import LiaisonCore
import Testing

@Suite struct CopyStateTests {
    @Test func theProtocolsTransitionsAreAllowed() {
        let allowed: [(CopyState, CopyState)] = [
            (.queued, .inFlight), (.inFlight, .delivered), (.inFlight, .deferred), (.deferred, .inFlight),
            (.held, .queued), (.queued, .held), (.deferred, .expired),
        ]
        for (from, to) in allowed { #expect(from.canMove(to: to), "\(from) → \(to)") }
    }

    @Test func deliveredIsFinal() {
        for state in CopyState.allCases { #expect(!CopyState.delivered.canMove(to: state)) }
    }

    @Test func nothingSkipsTheAttempt() {
        #expect(!CopyState.queued.canMove(to: .delivered))
        #expect(!CopyState.deferred.canMove(to: .delivered))
        #expect(!CopyState.held.canMove(to: .delivered))
    }

    @Test func anExpiredCopyCanBeReplayed() {
        #expect(CopyState.expired.canMove(to: .queued))
        #expect(!CopyState.expired.canMove(to: .inFlight))
    }
}
