#if canImport(Glibc)
import Glibc
#endif
import LinuxKit

/// A connection to systemd's Manager: transient scopes for containers (`--systemd-cgroup`), their
/// properties, and stopping them. Through the system bus when dbus-daemon runs, as runc does
/// (concurrent clients of systemd's private socket were each left unanswered for 30 s at a time
/// in the node tests' guest), else through the private socket (root only, no bus daemon needed).
/// Blocking, with a deadline on every wait: `skiff` is a short single-threaded process.
public final class SystemdManager {
    public static let systemBus = "/run/dbus/system_bus_socket"
    public static let privateSocket = "/run/systemd/private"
    static let path = "/org/freedesktop/systemd1"
    static let interface = "org.freedesktop.systemd1.Manager"

    let fd: Int32
    /// Through dbus-daemon: messages need a destination, signals a match rule.
    let viaBus: Bool
    var serial: UInt32 = 0
    var input: [UInt8] = []
    /// Signals that arrived while waiting for a reply: job results are among them.
    var signals: [DBusMessage] = []
    let timeoutMilliseconds: Int32

    public convenience init(timeoutMilliseconds: Int32 = 30_000) throws(DBusError) {
        let bus = FileSystem.exists(Self.systemBus)
        try self.init(socket: bus ? Self.systemBus : Self.privateSocket, viaBus: bus, timeoutMilliseconds: timeoutMilliseconds)
    }

    public init(socket: String, viaBus: Bool, timeoutMilliseconds: Int32 = 30_000) throws(DBusError) {
        do { fd = try UnixSocket.connect(path: socket) } catch { throw .io("cannot connect to \(socket): \(error.reason)") }
        self.viaBus = viaBus
        self.timeoutMilliseconds = timeoutMilliseconds
        do {
            try authenticate()
            if viaBus { try callBus("Hello") }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// SASL EXTERNAL: the kernel vouches for our uid (SO_PEERCRED); the uid goes as hex of its digits.
    func authenticate() throws(DBusError) {
        let uid = String(getuid()).utf8.map { String($0, radix: 16) }.joined()
        try write([0] + Array("AUTH EXTERNAL \(uid)\r\n".utf8))
        let line = try readLine()
        guard line.hasPrefix("OK ") else { throw .refused(name: "auth", message: line) }
        try write(Array("BEGIN\r\n".utf8))
    }

    /// Calls a Manager method and returns its reply; an error reply is thrown with its name.
    @discardableResult
    public func call(_ member: String, signature: String = "", body: [UInt8] = []) throws(DBusError) -> DBusMessage {
        try send(DBusMessage(kind: .methodCall, serial: 0, path: Self.path, interface: Self.interface, member: member,
                             destination: "org.freedesktop.systemd1", signature: signature, body: body))
    }

    /// Calls a method of the bus daemon itself (Hello, AddMatch).
    @discardableResult
    func callBus(_ member: String, signature: String = "", body: [UInt8] = []) throws(DBusError) -> DBusMessage {
        try send(DBusMessage(kind: .methodCall, serial: 0, path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
                             member: member, destination: "org.freedesktop.DBus", signature: signature, body: body))
    }

    private func send(_ call: DBusMessage) throws(DBusError) -> DBusMessage {
        serial += 1
        var message = call
        message.serial = serial
        let member = call.member ?? ""
        try write(message.bytes)
        while true {
            let reply = try readMessage(waitingFor: member)
            if reply.kind == .signal { signals.append(reply); continue }
            guard reply.replySerial == message.serial else { continue }
            if reply.kind == .error {
                let text = (try? reply.values()).flatMap { values -> String? in
                    if case .string(let s) = values.first { return s }
                    return nil
                }
                throw .refused(name: reply.errorName ?? "error", message: text ?? "")
            }
            return reply
        }
    }

    /// Starts a transient unit and waits until systemd has finished the job; a job that ends
    /// in anything but "done" is an error (its unit is reset so a retry can start it again).
    public func startTransientUnit(_ name: String, properties: [(String, DBusValue)]) throws(DBusError) {
        if viaBus {
            // The bus delivers a signal only to those who asked for it.
            let rule = "type='signal',sender='org.freedesktop.systemd1',interface='\(Self.interface)',member='JobRemoved'"
            try callBus("AddMatch", signature: "s", body: Self.strings([rule]))
        }
        try call("Subscribe")
        var w = DBusWriter()
        w.string(name)
        w.string("replace")
        w.array(alignment: 8) { w in
            for (key, value) in properties {
                w.structure { w in
                    w.string(key)
                    w.variant(value)
                }
            }
        }
        w.array(alignment: 8) { _ in }
        let reply = try call("StartTransientUnit", signature: "ssa(sv)a(sa(sv))", body: w.bytes)
        guard case .objectPath(let job)? = try reply.values().first else { throw .malformed("StartTransientUnit returned no job") }
        let result = try waitForJob(job)
        guard result == "done" else {
            _ = try? call("ResetFailedUnit", signature: "s", body: Self.strings([name]))
            throw .refused(name: "StartTransientUnit", message: "the job for \(name) ended '\(result)'")
        }
    }

    /// Changes properties of a running unit (runtime only, as runc does).
    public func setUnitProperties(_ name: String, properties: [(String, DBusValue)]) throws(DBusError) {
        var w = DBusWriter()
        w.string(name)
        w.uint32(1)
        w.array(alignment: 8) { w in
            for (key, value) in properties {
                w.structure { w in
                    w.string(key)
                    w.variant(value)
                }
            }
        }
        try call("SetUnitProperties", signature: "sba(sv)", body: w.bytes)
    }

    /// Stops a unit; one that does not exist any more is not an error.
    public func stopUnit(_ name: String) throws(DBusError) {
        do {
            try call("StopUnit", signature: "ss", body: Self.strings([name, "replace"]))
        } catch .refused(let error, _) where error == "org.freedesktop.systemd1.NoSuchUnit" {
            return
        }
    }

    /// Waits for the JobRemoved signal of `job`; returns its result ("done", "failed"…).
    func waitForJob(_ job: String) throws(DBusError) -> String {
        while true {
            let message = signals.isEmpty ? try readMessage(waitingFor: "the job \(job)") : signals.removeFirst()
            guard message.kind == .signal, message.member == "JobRemoved" else { continue }
            let values = try message.values()
            guard values.count == 4, case .objectPath(let path) = values[1], path == job, case .string(let result) = values[3] else { continue }
            return result
        }
    }

    static func strings(_ values: [String]) -> [UInt8] {
        var w = DBusWriter()
        values.forEach { w.string($0) }
        return w.bytes
    }

    // MARK: socket

    func write(_ bytes: [UInt8]) throws(DBusError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io("write: \(SystemError("", errno: errno).reason)") }
            offset += n
        }
    }

    func fill(waitingFor what: String) throws(DBusError) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeoutMilliseconds) > 0 else { throw .timeout(what) }
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw .io("systemd closed the connection") }
        input += buffer[0..<n]
    }

    func readLine() throws(DBusError) -> String {
        while true {
            if let end = input.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: input[..<end], as: UTF8.self)
                input.removeFirst(end + 1)
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            try fill(waitingFor: "authentication")
        }
    }

    func readMessage(waitingFor what: String) throws(DBusError) -> DBusMessage {
        while true {
            if input.count >= 16 {
                guard let length = DBusMessage.length(ofHeader: Array(input.prefix(16))) else { throw .malformed("bad header") }
                if input.count >= length {
                    let message = try DBusMessage(parsing: Array(input.prefix(length)))
                    input.removeFirst(length)
                    return message
                }
            }
            try fill(waitingFor: what)
        }
    }
}
