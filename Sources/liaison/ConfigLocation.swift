import Foundation
import LiaisonRuntime

/// The daemon configuration a command works with: `--config FILE`, else `$LIAISON_CONFIG`, else
/// `./config/liaison.yaml`, and nowhere else. (A binary must not find, by where it was built, another
/// checkout's configuration and so check or steer the wrong instance.)
func configURL(_ given: String?) -> URL {
    if let given, !given.isEmpty { return URL(fileURLWithPath: given).standardizedFileURL }
    if let named = ProcessInfo.processInfo.environment["LIAISON_CONFIG"], !named.isEmpty {
        return URL(fileURLWithPath: named).standardizedFileURL
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("config/liaison.yaml")
}

/// Says on standard error which configuration and store a command works with, so that an operator never
/// steers one instance believing it is another.
func sayUsing(configuration: URL?, store: String?) {
    var parts: [String] = []
    if let configuration { parts.append("configuration \(configuration.path)") }
    if let store { parts.append("store \(store)") }
    guard !parts.isEmpty else { return }
    FileHandle.standardError.write(Data("liaison: using \(parts.joined(separator: ", "))\n".utf8))
}
