import Foundation
import HummingbirdBcrypt
import LiaisonCore
import NIOPosix
import Synchronization

/// What stands between the sign-in and set-up forms and someone hammering them:
///
/// - failed sign-ins from one address wait longer each time (the policy's delays), whichever e-mail they name,
///   so that an e-mail with an account and one without take as long as each other;
/// - bcrypt, a quarter of a second of CPU, runs at most `concurrent` at once, off the event loops, with at most
///   `waiting` more in line; past that a sign-in is told to try again, so a flood cannot take the machine.
final class SignInGuard: Sendable {
    private struct Address {
        var failures: Int
        var last: Date
    }

    private struct State {
        var addresses: [String: Address] = [:]
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let policy: StaffSignInPolicy
    private let concurrent: Int
    private let waitingLimit: Int

    init(policy: StaffSignInPolicy, concurrent: Int = 1, waiting: Int = 8) {
        self.policy = policy
        self.concurrent = concurrent
        self.waitingLimit = waiting
    }

    /// The hashing is busy with too many sign-ins; the caller is asked to try again.
    struct Busy: Error {}

    /// How long to wait before answering a failure from `address`, counting this one; an address's count is
    /// forgotten after the policy's lock time without a failure.
    func failed(from address: String, at now: Date) -> TimeInterval {
        state.withLock { state in
            var entry =
                state.addresses[address].flatMap { now.timeIntervalSince($0.last) < policy.lockFor ? $0 : nil }
                ?? Address(failures: 0, last: now)
            entry.failures += 1
            entry.last = now
            state.addresses[address] = entry
            // Kept small: addresses quiet for longer than a lock are dropped.
            if state.addresses.count > 10_000 {
                state.addresses = state.addresses.filter { now.timeIntervalSince($0.value.last) < policy.lockFor }
            }
            return policy.delay(afterFailures: entry.failures)
        }
    }

    /// Forgets the failures of an address that signed in.
    func succeeded(from address: String) {
        _ = state.withLock { $0.addresses.removeValue(forKey: address) }
    }

    /// Runs bcrypt's `work` when a turn comes, on NIO's thread pool.
    /// - Throws: `Busy` when too many are already waiting.
    func hashing<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let admitted: Bool? = state.withLock { state in
            if state.running < concurrent {
                state.running += 1
                return true
            }
            return state.waiting.count < waitingLimit ? false : nil
        }
        guard let admitted else { throw Busy() }
        if !admitted {
            await withCheckedContinuation { continuation in
                let runNow = state.withLock { state -> Bool in
                    if state.running < concurrent {
                        state.running += 1
                        return true
                    }
                    state.waiting.append(continuation)
                    return false
                }
                if runNow { continuation.resume() }
            }
        }
        defer {
            let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if state.waiting.isEmpty {
                    state.running -= 1
                    return nil
                }
                // The turn passes straight to the next in line.
                return state.waiting.removeFirst()
            }
            next?.resume()
        }
        return try await NIOThreadPool.singleton.runIfActive(work)
    }
}
