import Foundation
import LiaisonCore
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one line per log event to standard error:
/// `2026-11-24T18:44:00.123Z info liaison: accepted id=… nino=AB12**** type=…`, metadata keys sorted,
/// the time as `Timestamp` writes it.
/// Cheaper than swift-log's `StreamLogHandler` (no locale-aware date formatting, no write per line), which
/// matters at one line per accepted message.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let output: LogOutput

    public init(label: String, output: LogOutput = .standardError) {
        self.label = label
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        output.write(lineBytes(event, at: Date()), now: event.level >= .error)
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
        /// A value as is when it is printable ASCII; otherwise every character that does not print as itself
        /// (controls, bidi overrides such as U+202E, other format characters, line separators, unassigned and
        /// private-use code points, and `\`) is written as `\u{XXXX}`: a value that came from a request (an
        /// error's text, a masked NINO's visible characters) can never start a line of its own that looks like
        /// the daemon's, nor turn the rest of a line around on a terminal.
        func appendValue(_ text: String) {
            let utf8 = text.utf8
            guard utf8.contains(where: { $0 < 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\\") }) else {
                return bytes.append(contentsOf: utf8)
            }
            for scalar in text.unicodeScalars {
                if LogText.printsAsItself(scalar) {
                    bytes.append(contentsOf: String(scalar).utf8)
                } else {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    append("\\u{" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "}")
                }
            }
        }
        append(Timestamp.format(instant))
        bytes.append(UInt8(ascii: " "))
        append(event.level.rawValue)
        bytes.append(UInt8(ascii: " "))
        append(label)
        append(": ")
        appendValue(event.message.description)
        // The handler's own metadata is usually empty: merge only when there is something to merge.
        let all: Logger.Metadata
        switch (metadata.isEmpty, event.metadata) {
        case (_, nil): all = metadata
        case (true, let given?): all = given
        case (false, let given?): all = metadata.merging(given) { $1 }
        }
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            bytes.append(UInt8(ascii: " "))
            append(key)
            bytes.append(UInt8(ascii: "="))
            if case .string(let text) = value { appendValue(text) } else { appendValue(value.description) }
        }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}

/// Which characters a log line may carry as they are.
enum LogText {
    /// Whether `scalar` shows as itself on a terminal and in a log viewer, and cannot be read as anything else.
    static func printsAsItself(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\\" }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }
}

/// A file descriptor that log lines are written to in batches: a line waits at most `delay` (5 ms) and is
/// written with the others that came meanwhile in one `write(2)`, not one each. Errors and worse are
/// written at once, with everything before them.
public final class LogOutput: Sendable {
    /// Standard error, where the daemon logs.
    public static let standardError = LogOutput(descriptor: 2)

    private let descriptor: Int32
    private let delay: TimeInterval
    private let pending = Mutex<[UInt8]>([])
    /// Signalled when the first line arrives in an empty buffer.
    private let arrived = DispatchSemaphore(value: 0)
    /// Held while writing, so that batches reach the descriptor whole and in order.
    private let writing = Mutex(())

    public init(descriptor: Int32, delay: TimeInterval = 0.005) {
        self.descriptor = descriptor
        self.delay = delay
        // Named from inside, in at most 15 characters, so that it shows in ps and perf.
        Thread { [self] in
            Thread.current.name = "liaison-log"
            while true {
                arrived.wait()
                Thread.sleep(forTimeInterval: delay)
                flush()
            }
        }.start()
    }

    /// Queues one line (newline included), or writes it at once with what is queued before it.
    public func write(_ line: [UInt8], now: Bool = false) {
        let first = pending.withLock { buffer in
            let wasEmpty = buffer.isEmpty
            buffer.append(contentsOf: line)
            return wasEmpty
        }
        if now {
            flush()
        } else if first {
            arrived.signal()
        }
    }

    /// Writes every queued line now.
    public func flush() {
        writing.withLock { _ in
            let batch = pending.withLock { buffer in
                let taken = buffer
                buffer = []
                return taken
            }
            batch.withUnsafeBytes { bytes in
                guard let start = bytes.baseAddress else { return }
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(descriptor, start + offset, bytes.count - offset)
                    if written <= 0 {
                        if written < 0, errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}
