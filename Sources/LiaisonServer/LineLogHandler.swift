import Foundation
import LiaisonCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Writes one line per log event to standard error with a single `write(2)`:
/// `2026-11-24T18:44:00.123Z info liaison: accepted id=… nino=AB12****C type=…`, metadata keys sorted.
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
        var line = Self.timestamp(Date())
        line += " \(event.level) \(label): \(event.message)"
        let all = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        for key in all.keys.sorted() { line += " \(key)=\(all[key]!)" }
        line += "\n"
        var bytes = Array(line.utf8)
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

    /// UTC, to the millisecond: `YYYY-MM-DDTHH:MM:SS.mmmZ` (for instants after 1970).
    static func timestamp(_ date: Date) -> String {
        let milliseconds = max(0, Int((date.timeIntervalSince1970 * 1000).rounded(.down)))
        let (seconds, millisecond) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let (days, second) = seconds.quotientAndRemainder(dividingBy: 86_400)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(LocalDate(dayNumber: days))T\(pad(second / 3600, 2)):\(pad(second / 60 % 60, 2)):\(pad(second % 60, 2)).\(pad(millisecond, 3))Z"
    }
}
