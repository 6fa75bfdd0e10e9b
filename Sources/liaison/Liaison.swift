import ArgumentParser

/// `liaison`: the exchange's one executable. Subcommands parse arguments and call into the modules.
@main
struct Liaison: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Carries casework notices between Jobcentres, Work Programme primes and CWP providers.",
        subcommands: [ReplayCommand.self, RulesCommand.self]
    )
}
