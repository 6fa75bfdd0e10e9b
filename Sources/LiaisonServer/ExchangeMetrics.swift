import CoreMetrics
import Foundation
import LiaisonStore
import Prometheus
import Synchronization

/// The daemon's metrics at `/metrics`, in Prometheus text format, through swift-metrics with the Prometheus
/// backend. What happens (requests, acknowledgements, refusals, deliveries) is recorded as it happens through
/// `factory`, which every part that records is given (no global bootstrap, so that tests may make as many as
/// they like); the state of the queue, the inboxes, the timers, the certificates and the process is read at
/// each scrape into gauges of the same registry.
///
/// Names follow Prometheus's conventions: base units (`_seconds`, `_bytes`), `_total` for counters. Every
/// configured inbox shows every state, zeros included.
final class ExchangeMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    /// The process's CPU time at the last scrape.
    private let cpuSeconds = Mutex(0.0)

    /// Histogram buckets, in seconds, for what can take long: a delivery can wait hours for its inbox.
    static let deliveryLatencyBuckets: [Duration] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400]
        .map { Duration.milliseconds(Int64($0 * 1000)) }

    init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[Self.deliveryLatency] = Self.deliveryLatencyBuckets
        self.factory = factory
    }

    // MARK: Events

    static let requestDuration = "liaison_http_request_duration_seconds"
    static let acknowledgementDuration = "liaison_acknowledgement_duration_seconds"
    static let deliveryLatency = "liaison_delivery_latency_seconds"

    func accepted(type: String) {
        CoreMetrics.Counter(label: "liaison_messages_accepted_total", dimensions: [("type", type)], factory: factory).increment()
    }

    func refused(code: String) {
        CoreMetrics.Counter(label: "liaison_messages_refused_total", dimensions: [("code", code)], factory: factory).increment()
    }

    func replayed() { CoreMetrics.Counter(label: "liaison_messages_replayed_total", factory: factory).increment() }

    func timerMessages(_ count: Int) {
        CoreMetrics.Counter(label: "liaison_timer_messages_total", factory: factory).increment(by: count)
    }

    /// A request answered, by its route (the path template, `unmatched` for none) and status.
    func request(route: String, status: Int, seconds: Double) {
        CoreMetrics.Timer(label: Self.requestDuration, dimensions: [("route", route), ("status", "\(status)")], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    /// From a submission's receipt to its 202 (durable).
    func acknowledged(seconds: Double) {
        CoreMetrics.Timer(label: Self.acknowledgementDuration, factory: factory).recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Copies of a pull inbox acknowledged (or marked done on the staff pages): delivered.
    func pulledDelivered(inbox: String, count: Int) {
        guard count > 0 else { return }
        CoreMetrics.Counter(
            label: "liaison_delivery_attempts_total", dimensions: [("inbox", inbox), ("outcome", "delivered"), ("result", "pulled")], factory: factory
        )
        .increment(by: count)
    }

    // MARK: Scrape

    /// What a scrape reads from the store and the process, set into gauges just before the exposition.
    struct State: Sendable {
        var inboxes: [InboxStatus] = []
        var blockedTimers = 0
        var certificates: [CertificateExpiry.Certificate] = []
    }

    private static let states = ["queued", "in-flight", "deferred", "held", "expired"]

    private func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)] = []) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: unit, helpText: help), labels: labels)
    }

    /// The exposition: everything recorded, and `state` with the process's own figures as they are now.
    func render(_ state: State, now: Date = Date()) -> String {
        for inbox in state.inboxes {
            let counts = [inbox.queued, inbox.inFlight, inbox.deferred, inbox.held, inbox.expired]
            for (name, count) in zip(Self.states, counts) {
                gauge("liaison_queue", "copies", "Copies waiting or given up on, by inbox and state.", [("inbox", inbox.inbox), ("state", name)])
                    .set(to: Double(count))
            }
            gauge(
                "liaison_queue_oldest_undelivered_age", "seconds", "Age of each inbox's oldest undelivered copy (0 when none).",
                [("inbox", inbox.inbox)]
            ).set(to: inbox.oldestUndeliveredAgeSeconds ?? 0)
            let flags = [
                ("liaison_inbox_paused", "Whether the inbox is paused after a 429 or 503 (1) or not (0).", inbox.pausedUntil != nil),
                ("liaison_inbox_disabled", "Whether the inbox is disabled after a 410 (1) or not (0).", inbox.disabledSince != nil),
                ("liaison_inbox_held", "Whether an operator holds the whole inbox (1) or not (0).", inbox.heldSince != nil),
                ("liaison_inbox_circuit_open", "Whether the inbox's circuit breaker is open (1) or closed (0).", inbox.circuitOpenSince != nil),
            ]
            for (name, help, on) in flags {
                registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: [("inbox", inbox.inbox)])
                    .set(to: on ? 1.0 : 0.0)
            }
        }
        registry.makeGauge(
            descriptor: MetricNameDescriptor(
                metricName: "liaison_timers_blocked", unitName: "", helpText: "Timers that cannot fire (see liaison queue timers)."),
            labels: []
        ).set(to: Double(state.blockedTimers))
        for certificate in state.certificates {
            gauge(
                "liaison_certificate_expiry", "seconds", "Seconds until a certificate Liaison presents expires (negative once expired).",
                [("certificate", certificate.role)]
            ).set(to: certificate.notAfter.timeIntervalSince(now))
        }
        registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "liaison_build", unitName: "info", helpText: "The running build (always 1)."),
            labels: [("version", LiaisonBuild.version), ("swift", LiaisonBuild.swift)]
        ).set(to: 1)
        let process = ProcessFigures.read()
        gauge("process_resident_memory", "bytes", "Resident memory size in bytes.").set(to: process.residentBytes)
        gauge("process_open", "fds", "Open file descriptors.").set(to: process.openFileDescriptors)
        // A counter: what the process has spent since the last scrape is added to it.
        let spent = cpuSeconds.withLock { last in
            defer { last = max(last, process.cpuSeconds) }
            return max(0, process.cpuSeconds - last)
        }
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "process_cpu_seconds", unitName: "total", helpText: "User and system CPU time spent, in seconds."),
            labels: []
        ).increment(by: spent)
        gauge("process_start_time", "seconds", "Start time of the process since the Unix epoch, in seconds.").set(to: process.startTime)
        return registry.emitToString()
    }
}

/// The build, for `liaison_build_info`.
public enum LiaisonBuild {
    public static let version = "0.23.0"
    #if compiler(>=6.3)
        public static let swift = "6.3"
    #else
        public static let swift = "6"
    #endif
}

/// This process's memory, file descriptors, CPU and start time, from `/proc/self`.
public struct ProcessFigures {
    var residentBytes = 0.0
    var openFileDescriptors = 0.0
    var cpuSeconds = 0.0
    var startTime = 0.0

    static func read() -> ProcessFigures {
        var figures = ProcessFigures()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Double(fields[1]) { figures.residentBytes = pages * pageSize }
        }
        figures.openFileDescriptors = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 0)
        let fields = statFields("/proc/self/stat")
        figures.cpuSeconds = cpuSeconds(fields)
        if fields.count > 19, let start = Double(fields[19]) { figures.startTime = bootTime() + start / ticks }
        return figures
    }

    /// CPU seconds (user and system) a process or thread has used, from its `stat` file (`/proc/PID/stat`,
    /// `/proc/PID/task/TID/stat`); 0 when it cannot be read.
    public static func cpuSeconds(statFile: String) -> Double { cpuSeconds(statFields(statFile)) }

    /// A `stat` file's fields after the command's closing parenthesis (the command may hold spaces).
    private static func statFields(_ path: String) -> [Substring] {
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8), let close = stat.lastIndex(of: ")") else { return [] }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// utime and stime, the 12th and 13th fields after the command, in seconds.
    private static func cpuSeconds(_ fields: [Substring]) -> Double {
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// When the machine booted, since the Unix epoch (`btime` in `/proc/stat`).
    private static func bootTime() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return 0 }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}
