import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonRuntime
import LiaisonStore

/// `liaison staff …`: the staff pages' accounts, kept in the store (the daemon may be running).
struct StaffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staff", abstract: "Manage the staff pages' accounts.",
        subcommands: [Add.self, List.self, Disable.self, Reset.self])

    struct Options: ParsableArguments {
        @Option(help: "The daemon configuration (default: $LIAISON_CONFIG, else config/liaison.yaml).")
        var config: String?

        @Flag(help: "Print JSON instead of text.")
        var json = false

        /// The configuration, and the accounts in its store (created and upgraded if need be).
        func open() throws -> (DaemonConfig, StaffAccounts) {
            let daemonConfig: DaemonConfig
            do {
                daemonConfig = try DaemonConfig.load(from: configURL(config), checkingFiles: false)
            } catch let problems as ConfigProblems {
                FileHandle.standardError.write(Data("liaison: the configuration has problems:\n\(problems)\n".utf8))
                throw ExitCode(2)
            }
            sayUsing(configuration: configURL(config), store: daemonConfig.store.description)
            try StoreFiles.createPrivateFolder(daemonConfig.dataDirectory)
            let store = try Store.open(daemonConfig.store, instance: daemonConfig.instance, logger: Store.quietLogger)
            return (daemonConfig, store.staffAccounts)
        }
    }

    /// What `add` and `reset` print: the account and its one-time set-up link.
    struct Invitation: Encodable {
        let email: String
        let name: String
        let party: String
        let roles: [String]
        let setupLink: String
        let setupLinkExpires: String

        init(_ member: StaffMember, link: String, expires: Date) {
            (email, name, party, roles) = (member.email, member.name, member.party, member.roles.map(\.rawValue))
            setupLink = link
            setupLinkExpires = Timestamp.format(expires)
        }

        func printed(json: Bool) throws {
            if json { return try printJSON(self) }
            print("\(email) (\(name)), \(party): \(roles.joined(separator: ", "))")
            print("Set-up link, to be used once by \(setupLinkExpires):\n  \(setupLink)")
        }
    }

    /// A new set-up link for an account, with its token and when it stops working.
    static func setupLink(_ config: DaemonConfig, now: Date) -> (token: String, link: String, expires: Date) {
        let token = StaffAccounts.newSecret()
        return (token, "\(config.staff.baseURL(port: config.port))/ui/setup/\(token)", now.addingTimeInterval(config.staff.setupLinkSeconds))
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a staff member to a party with one or more of its roles, and print their one-time set-up link.")
        @OptionGroup var options: Options
        @Option(help: "Their party, as configured.")
        var party: String
        @Option(help: "Their roles, comma-separated: the party's inboxes they read (e.g. spoc,nominated-manager).")
        var roles: String
        @Option(help: "Their name, as shown on pages and in logs.")
        var name: String
        @Argument(help: "Their e-mail address, which they sign in with.")
        var email: String

        func validate() throws {
            guard StaffMember.isEmail(StaffMember.normalised(email: email)) else { throw ValidationError("\(email) is not an e-mail address") }
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--name must not be empty") }
        }

        func run() throws {
            let (config, accounts) = try options.open()
            guard let kind = config.parties.first(where: { $0.party.id == party })?.party.kind else {
                throw ValidationError("\(party) is not a configured party: \(config.parties.map(\.party.id).joined(separator: ", "))")
            }
            let allowed = InboxRole.roles(of: kind)
            var chosen: [InboxRole] = []
            for name in roles.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let role = InboxRole(rawValue: name), allowed.contains(role) else {
                    throw ValidationError("\(name) is not a role of \(party): \(allowed.map(\.rawValue).joined(separator: ", "))")
                }
                if !chosen.contains(role) { chosen.append(role) }
            }
            guard !chosen.isEmpty else { throw ValidationError("--roles names no role") }
            let now = Date()
            let (token, link, expires) = StaffCommand.setupLink(config, now: now)
            do {
                let member = try accounts.add(
                    email: email, name: name.trimmingCharacters(in: .whitespaces), party: party, roles: chosen, setupToken: token,
                    expires: expires, now: now)
                try Invitation(member, link: link, expires: expires).printed(json: options.json)
            } catch let error as StaffAccounts.AccountError {
                throw fail(error)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the staff accounts.")
        @OptionGroup var options: Options

        struct Line: Encodable {
            let email: String, name: String, party: String, roles: [String], state: String
            let lockedUntil: String?
        }

        func run() throws {
            let (_, accounts) = try options.open()
            let now = Date()
            let lines = try accounts.list().map { member in
                Line(
                    email: member.email, name: member.name, party: member.party, roles: member.roles.map(\.rawValue),
                    state: member.account.isLocked(at: now) ? "locked" : member.account.state.rawValue,
                    lockedUntil: member.account.lockedUntil.flatMap { member.account.isLocked(at: now) ? Timestamp.format($0) : nil })
            }
            if options.json { return try printJSON(lines) }
            printTable(
                ["EMAIL", "NAME", "PARTY", "ROLES", "STATE"],
                lines.map { [$0.email, $0.name, $0.party, $0.roles.joined(separator: ","), $0.lockedUntil.map { "locked until \($0)" } ?? $0.state] })
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a staff account and end its sessions.")
        @OptionGroup var options: Options
        @Argument(help: "The account's e-mail address.")
        var email: String

        func run() throws {
            let (_, accounts) = try options.open()
            do {
                try accounts.disable(email: email, now: Date())
            } catch let error as StaffAccounts.AccountError {
                throw fail(error)
            }
            if options.json { return try printJSON(["email": StaffMember.normalised(email: email), "state": "disabled"]) }
            print("\(StaffMember.normalised(email: email)) is disabled; its sessions have ended")
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reset a staff account: clear its password and lock, end its sessions, and print a new set-up link.")
        @OptionGroup var options: Options
        @Argument(help: "The account's e-mail address.")
        var email: String

        func run() throws {
            let (config, accounts) = try options.open()
            let now = Date()
            let (token, link, expires) = StaffCommand.setupLink(config, now: now)
            do {
                try accounts.reset(email: email, setupToken: token, expires: expires, now: now)
                guard let member = try accounts.member(email: email) else { throw StaffAccounts.AccountError.unknown(email: email) }
                try Invitation(member, link: link, expires: expires).printed(json: options.json)
            } catch let error as StaffAccounts.AccountError {
                throw fail(error)
            }
        }
    }
}
