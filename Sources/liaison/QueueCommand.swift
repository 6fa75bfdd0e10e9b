import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonRuntime
import LiaisonStore

/// Where the queue commands find the store.
struct StoreOptions: ParsableArguments {
    @Option(help: "The daemon configuration, to find the store (default: $LIAISON_CONFIG, else config/liaison.yaml).")
    var config: String?

    @Option(help: "The store (a SQLite file, or postgresql://…), instead of the configuration's.")
    var store: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    /// The store's operators' view, the configured inboxes (none with `--store`), and the store as said to the
    /// operator (a URL without its password).
    func open() throws -> (QueueOperator, [String], store: String) {
        if let store {
            let location: StoreLocation
            do {
                location = try StoreLocation(store)
            } catch {
                throw ValidationError("--store: \(error)")
            }
            sayUsing(configuration: nil, store: location.description)
            return (try Store.openExisting(location, logger: Store.quietLogger).operators, [], location.description)
        }
        // Only the store and the inboxes are needed: the daemon's keys and certificates need not be readable.
        let daemonConfig: DaemonConfig
        do {
            daemonConfig = try DaemonConfig.load(from: configURL(config), checkingFiles: false)
        } catch let problems as ConfigProblems {
            FileHandle.standardError.write(
                Data("liaison: the configuration has problems:\n\(problems)\n(name the store with --store to read it anyway)\n".utf8))
            throw ExitCode(2)
        }
        sayUsing(configuration: configURL(config), store: daemonConfig.store.description)
        return (
            try Store.openExisting(daemonConfig.store, logger: Store.quietLogger).operators, daemonConfig.inboxAddresses.map(\.description),
            daemonConfig.store.description
        )
    }
}

/// `liaison queue …`: see and steer the delivery queue, reading the store directly while the daemon runs.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "See and steer the delivery queue.",
        subcommands: [Status.self, List.self, Shape.self, Show.self, Hold.self, Release.self, Retry.self, Expire.self, Timers.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per inbox: queued, in flight, deferred, held, expired, delivered in 24 h, ages, errors.")
        @OptionGroup var options: StoreOptions
        @Flag(help: "List every configured inbox, also those with nothing queued.")
        var all = false

        func run() throws {
            let (queue, inboxes, store) = try options.open()
            let now = Date().timeIntervalSince1970
            let status = try queue.status(now: now, inboxes: all ? inboxes : [])
            var totals = InboxStatusTotals()
            for line in status { totals.add(line) }
            let blockedTimers = try queue.blockedTimerCount()
            if options.json {
                try printJSON([
                    "inboxes": AnyEncodable(status), "totals": AnyEncodable(totals), "blockedTimers": AnyEncodable(blockedTimers),
                    "store": AnyEncodable(store),
                ])
                return
            }
            let header = [
                "INBOX", "QUEUED", "IN-FLIGHT", "DEFERRED", "HELD", "EXPIRED", "DELIVERED-24H", "OLDEST", "NEXT-ATTEMPT", "LAST-DELIVERY",
                "LAST-ERROR",
            ]
            var rows = status.map { line in
                [
                    line.inbox, "\(line.queued)", "\(line.inFlight)", "\(line.deferred)", "\(line.held)", "\(line.expired)",
                    "\(line.deliveredLast24h)", line.oldestUndeliveredAgeSeconds.map(formatAge) ?? "-", line.nextAttempt ?? "-",
                    line.lastDeliveryAgeSeconds.map { "\(formatAge($0)) ago" } ?? "-",
                    line.lastError.map { error in line.lastErrorAgeSeconds.map { "\(error) (\(formatAge($0)) ago)" } ?? error } ?? "-",
                ]
            }
            rows.append([
                "TOTAL", "\(totals.queued)", "\(totals.inFlight)", "\(totals.deferred)", "\(totals.held)", "\(totals.expired)",
                "\(totals.deliveredLast24h)", totals.oldestUndeliveredAgeSeconds.map(formatAge) ?? "-", "", "", "",
            ])
            printTable(header, rows)
            for line in status {
                if let since = line.circuitOpenSince {
                    print(
                        "\(line.inbox)'s circuit is open since \(since): after a run of failed attempts its copies wait and one probe at a time is tried; the first delivery closes it"
                    )
                }
                if let since = line.disabledSince {
                    print(
                        "\(line.inbox) is disabled since \(since) (it answered 410): its copies are held; liaison queue release --inbox \(line.inbox) sends them again"
                    )
                } else if let since = line.heldSince {
                    print(
                        "\(line.inbox) is held since \(since) by an operator: its copies are held; liaison queue release --inbox \(line.inbox) sends them again"
                    )
                } else if let until = line.pausedUntil {
                    // The inbox's error says whether it asked for the pause with Retry-After or gave no time.
                    let cause = line.lastError.map { "it answered \($0)" } ?? "it answered 429 or 503"
                    print("\(line.inbox) is paused until \(until) (\(cause)); liaison queue retry --inbox \(line.inbox) ends the pause")
                }
            }
            if blockedTimers > 0 {
                print("\(blockedTimers) timer\(blockedTimers == 1 ? " is" : "s are") blocked and will not fire: see liaison queue timers")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List copies, oldest first.")
        @OptionGroup var options: StoreOptions
        @Option(help: "Only copies in this state; repeatable.")
        var state: [CopyState] = []
        @Option(help: "Only this inbox (party/role) or party.") var inbox: String?
        @Option(help: "Only this message type.") var type: String?
        @Option(help: "Only copies accepted at least this long ago (e.g. 30m, 2h, 1d).") var olderThan: String?
        @Option(help: "At most this many.") var limit = 100
        @Flag(
            help:
                "Only one claimant's copies: the NINO is read from standard input (or asked for), never from the command line, which lands in shell history and ps."
        )
        var nino = false

        func validate() throws {
            if limit < 1 { throw ValidationError("--limit must be 1 or more") }
        }

        func run() throws {
            let (queue, _, _) = try options.open()
            var filter = CopyFilter()
            filter.states = state
            if nino { filter.personKey = try readNINO().personKey }
            filter.inbox = inbox
            filter.type = type
            // One more than asked for, to say so when more match: a list cut short is not taken for all of them.
            filter.limit = limit < Int.max ? limit + 1 : limit
            if let olderThan { filter.olderThan = try parseAge(olderThan) }
            var copies = try queue.list(filter, now: Date().timeIntervalSince1970)
            if copies.count > limit {
                copies.removeLast(copies.count - limit)
                FileHandle.standardError.write(Data("liaison: more copies match; these are the oldest \(limit) (see --limit)\n".utf8))
            }
            if options.json { return try printJSON(copies) }
            printTable(
                ["COPY", "MESSAGE", "TYPE", "INBOX", "STATE", "ATTEMPTS", "ACCEPTED", "NEXT-ATTEMPT", "LAST-ERROR"],
                copies.map {
                    [$0.id, $0.messageID, $0.type, $0.inbox, $0.state, "\($0.attempts)", $0.acceptedAt, $0.nextAttempt ?? "-", $0.lastError ?? "-"]
                })
        }
    }

    struct Shape: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each inbox's undelivered copies by age, in the manner of Postfix's qshape: 5m, 10m, 20m … 1280m, older.")
        @OptionGroup var options: StoreOptions

        func run() throws {
            let (queue, _, _) = try options.open()
            let shape = try queue.shape(now: Date().timeIntervalSince1970)
            if options.json { return try printJSON(["buckets": AnyEncodable(QueueShape.bucketNames), "inboxes": AnyEncodable(shape)]) }
            let totals = shape.reduce(into: Array(repeating: 0, count: QueueShape.bucketNames.count)) { sums, line in
                for (index, count) in line.counts.enumerated() { sums[index] += count }
            }
            var rows = shape.map { [$0.inbox, "\($0.total)"] + $0.counts.map(String.init) }
            rows.append(["TOTAL", "\(totals.reduce(0, +))"] + totals.map(String.init))
            printTable(["INBOX", "TOTAL"] + QueueShape.bucketNames.map { $0.uppercased() }, rows)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every state change and attempt of a copy, or of each copy of a message.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "A copy id or message id.") var id: String

        func run() throws {
            let (queue, _, _) = try options.open()
            let details = try queue.show(id)
            guard !details.isEmpty else {
                FileHandle.standardError.write(Data("liaison: no copy or message \(id)\n".utf8))
                throw ExitCode(1)
            }
            if options.json { return try printJSON(details) }
            for detail in details {
                let copy = detail.copy
                print(
                    "\(copy.id)  \(copy.type) → \(copy.inbox)  message \(copy.messageID)  nino \(detail.maskedNINO ?? "-")"
                        + (detail.sentBy.map { "  sent by \($0) from the staff pages" } ?? ""))
                print("  state \(copy.state), \(copy.attempts) attempt(s), accepted \(copy.acceptedAt)")
                for event in detail.events {
                    let status = event.httpStatus.map { " HTTP \($0)" } ?? ""
                    let error = event.error.map { " (\($0))" } ?? ""
                    print("  \(event.at)  \(event.state.padding(toLength: 10, withPad: " ", startingAt: 0)) \(event.reason ?? "")\(status)\(error)")
                }
            }
        }
    }

    struct Hold: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hold waiting copies (by id, or all of an inbox).")
        @OptionGroup var action: ActionOptions
        func run() throws { try action.apply(.hold) }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release held copies back to the queue.")
        @OptionGroup var action: ActionOptions
        func run() throws { try action.apply(.release) }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Try deferred, held or expired copies again now.")
        @OptionGroup var action: ActionOptions
        func run() throws { try action.apply(.retry) }
    }

    struct Expire: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop trying copies; they stay visible and can be retried.")
        @OptionGroup var action: ActionOptions
        func run() throws { try action.apply(.expire) }
    }

    struct Timers: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Timers that could not fire (e.g. a working day past the bank-holiday data), or --retry them.")
        @OptionGroup var options: StoreOptions
        @Flag(help: "Let every blocked timer fire again (after fixing the cause, e.g. new bank-holiday data and a restart).")
        var retry = false

        func run() throws {
            let (queue, _, _) = try options.open()
            if retry {
                let unblocked = try queue.unblockTimers()
                if options.json { return try printJSON(["unblocked": unblocked]) }
                print("unblocked: \(unblocked) timer\(unblocked == 1 ? "" : "s"); the daemon fires those due within a second")
                return
            }
            let timers = try queue.blockedTimers()
            if options.json { return try printJSON(timers) }
            printTable(["NINO", "TIMER", "FIRES-ON", "BLOCKED-BECAUSE"], timers.map { [$0.nino, $0.kind, $0.fireDate, $0.reason] })
        }
    }
}

/// Copies to act on.
struct ActionOptions: ParsableArguments {
    @OptionGroup var options: StoreOptions
    @Option(help: "Every copy of this inbox (party/role) or party.") var inbox: String?
    @Argument(help: "Copy ids or message ids.") var ids: [String] = []

    func validate() throws {
        if ids.isEmpty, inbox == nil { throw ValidationError("name copy or message ids, or --inbox") }
    }

    /// Moves the copies, and fails (exit 1) when an id or the inbox named matches no copy at all, or an id
    /// matches only copies in states the action does not apply to (in flight or delivered, say), so that
    /// neither a mistyped id nor a stale one is taken for done.
    func apply(_ action: QueueOperator.Action) throws {
        let (queue, _, _) = try options.open()
        let result = try queue.apply(action, ids: ids, inbox: inbox, now: Date().timeIntervalSince1970)
        if options.json {
            struct Report: Encodable {
                let action: String
                let moved: Int
                let notFound: [String]
                let notApplicable: [String: [String]]
                let disabledInboxes: [String]
                let pausedInboxes: [String: String]
                let inFlight: Int
                let heldInInbox: Int?
            }
            try printJSON(
                Report(
                    action: action.rawValue, moved: result.moved, notFound: result.notFound, notApplicable: result.notApplicable,
                    disabledInboxes: result.disabledInboxes, pausedInboxes: result.pausedInboxes, inFlight: result.inFlight,
                    heldInInbox: result.heldInInbox))
        } else {
            print("\(action.rawValue): \(result.moved) cop\(result.moved == 1 ? "y" : "ies")")
            if let held = result.heldInInbox, let inbox {
                print(
                    "\(inbox) is held as a whole: nothing is sent to it until liaison queue release --inbox \(inbox); \(held) cop\(held == 1 ? "y" : "ies") held in it now"
                )
            }
            func warn(_ text: String) { FileHandle.standardError.write(Data("liaison: \(text)\n".utf8)) }
            for name in result.notFound { warn("\(name) matches no copy") }
            let applies = action.sources.map(\.rawValue).joined(separator: ", ")
            for (id, states) in result.notApplicable.sorted(by: { $0.key < $1.key }) {
                warn("\(id) is \(states.joined(separator: ", ")): \(action.rawValue) applies to \(applies) copies")
            }
            for address in result.disabledInboxes {
                warn(
                    "\(address) is disabled (it answered 410) or held as a whole: its copies are held again until liaison queue release --inbox \(address)"
                )
            }
            for (address, until) in result.pausedInboxes.sorted(by: { $0.key < $1.key }) {
                warn(
                    "\(address) is paused until \(until) (it answered 429 or 503): nothing is sent to it before then, unless liaison queue retry --inbox \(address)"
                )
            }
            if result.inFlight > 0, action == .hold || action == .expire {
                warn(
                    "\(result.inFlight) cop\(result.inFlight == 1 ? "y is" : "ies are") in flight and not moved: each finishes its attempt, and one that fails is deferred (held, in an inbox held as a whole)"
                )
            }
        }
        if !result.notFound.isEmpty || !result.notApplicable.isEmpty { throw ExitCode(1) }
    }
}

/// Totals over every inbox.
struct InboxStatusTotals: Codable {
    var queued = 0, inFlight = 0, deferred = 0, held = 0, expired = 0, deliveredLast24h = 0
    var oldestUndeliveredAgeSeconds: Double?

    mutating func add(_ line: InboxStatus) {
        queued += line.queued
        inFlight += line.inFlight
        deferred += line.deferred
        held += line.held
        expired += line.expired
        deliveredLast24h += line.deliveredLast24h
        if let age = line.oldestUndeliveredAgeSeconds { oldestUndeliveredAgeSeconds = max(oldestUndeliveredAgeSeconds ?? 0, age) }
    }
}

struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    for row in all {
        print(
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
    }
}

func formatAge(_ seconds: Double) -> String {
    switch seconds {
    case ..<120: "\(Int(seconds))s"
    case ..<7200: "\(Int(seconds / 60))m"
    case ..<172_800: "\(Int(seconds / 3600))h"
    default: "\(Int(seconds / 86_400))d"
    }
}

func parseAge(_ text: String) throws -> Double {
    let units: [(String, Double)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let number = Double(text.dropLast()), number >= 0 { return number * scale }
    }
    throw ValidationError("\(text) is not an age such as 30m, 2h or 1d")
}

extension CopyState: ExpressibleByArgument {}

/// A NINO read from standard input, or asked for on the terminal: never an argument, since a command line
/// lands in shell history and in `ps`.
func readNINO() throws -> NINO {
    if isatty(STDIN_FILENO) == 1 { FileHandle.standardError.write(Data("NINO: ".utf8)) }
    guard let line = readLine(strippingNewline: true) else { throw ValidationError("--nino: no NINO on standard input") }
    let text = line.trimmingCharacters(in: .whitespaces).uppercased().replacingOccurrences(of: " ", with: "")
    guard let nino = NINO(text) else { throw ValidationError("--nino: \(NINO.mask(text)) is not a valid NINO") }
    return nino
}
