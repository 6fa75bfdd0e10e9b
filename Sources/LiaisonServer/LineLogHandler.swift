import Foundation
import LiaisonCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Writes one line per log event to standard error with a single `write(2)`:
/// `2026-11-24T18:44:00.123Z info liaison: accepted id=… nino=AB12****C type=…`, metadata keys sorted,
/// the time as `Timestamp` writes it.
/// Cheaper than swift-log's `StreamLogHandler` (no locale-aware date formatting, no locking), which matters
/// at one line per accepted message.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var bytes = Array(line(event, at: Date()).utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 {
                    if written < 0, errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// The line written for `event` at `instant`, newline included.
    func line(_ event: LogEvent, at instant: Date) -> String {
        var line = "\(Timestamp.format(instant)) \(event.level) \(label): \(event.message)"
        let all = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        for key in all.keys.sorted() { line += " \(key)=\(all[key]!)" }
        return line + "\n"
    }
}
