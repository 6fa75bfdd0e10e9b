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
        let bytes = lineBytes(event, at: Date())
        bytes.withUnsafeBytes { buffer in
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
        String(decoding: lineBytes(event, at: instant), as: UTF8.self)
    }

    /// The line as bytes, built in one buffer: this runs once per accepted message and per delivery attempt.
    private func lineBytes(_ event: LogEvent, at instant: Date) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        func append(_ text: String) { bytes.append(contentsOf: text.utf8) }
        append(Timestamp.format(instant))
        bytes.append(UInt8(ascii: " "))
        append(event.level.rawValue)
        bytes.append(UInt8(ascii: " "))
        append(label)
        append(": ")
        append(event.message.description)
        // The handler's own metadata is usually empty: merge only when there is something to merge.
        let all: Logger.Metadata
        switch (metadata.isEmpty, event.metadata) {
        case (_, nil): all = metadata
        case (true, let given?): all = given
        case (false, let given?): all = metadata.merging(given) { $1 }
        }
        for key in all.keys.sorted() {
            bytes.append(UInt8(ascii: " "))
            append(key)
            bytes.append(UInt8(ascii: "="))
            if case .string(let text) = all[key]! { append(text) } else { append(all[key]!.description) }
        }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}
