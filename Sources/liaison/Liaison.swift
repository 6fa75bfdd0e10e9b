import ArgumentParser

/// `liaison`: the exchange's one executable. Subcommands parse arguments and call into the modules.
@main
struct Liaison: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Carries casework notices between Jobcentres, Work Programme primes and CWP providers.",
        subcommands: [
            ServeCommand.self, ReplayCommand.self, QueueCommand.self, ConfigCommand.self, RulesCommand.self, OpenAPICommand.self,
            StaffCommand.self, StoreCommand.self,
        ]
    )
}
