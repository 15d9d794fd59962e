import OCI

/// An image reference, normalised the way Docker and containerd do it: `busybox` is
/// `docker.io/library/busybox:latest`, `localhost:5000/app@sha256:…` keeps its host and digest.
/// Everything an image name arrives with (a kubelet request, a user's argument) is parsed here
/// first; a bad one is refused with the part that is wrong.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    /// Registry host, with port if any: `docker.io`, `127.0.0.1:5000`.
    public let domain: String
    /// Repository path inside the registry: `library/busybox`.
    public let path: String
    public let tag: String?
    /// `sha256:<64 hex>`.
    public let digest: String?

    public static let defaultDomain = "docker.io"
    public static let defaultTag = "latest"

    /// `docker.io/library/busybox`.
    public var repository: String { domain + "/" + path }

    /// The full normalised form: repository, `:tag` and/or `@digest`.
    public var description: String {
        repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
    }

    /// `repository:tag`, the form CRI's `repo_tags` lists (nil for a digest-only reference).
    public var repoTag: String? { tag.map { repository + ":" + $0 } }

    /// Parses and normalises `text`. With neither tag nor digest the tag is `latest`.
    public init(parsing text: String) throws(ImageError) {
        func fail(_ reason: String) -> ImageError { .invalidReference(text, reason: reason) }
        guard !text.isEmpty else { throw fail("empty") }
        guard text.utf8.count <= 4096 else { throw fail("longer than 4096 bytes") }
        var rest = Substring(text)

        var digest: String?
        if let at = rest.lastIndex(of: "@") {
            let value = String(rest[rest.index(after: at)...])
            try Self.validateDigest(value, fail)
            digest = value
            rest = rest[..<at]
        }
        // A tag is after the last ':' that comes after the last '/' (a ':' before it is a port).
        var tag: String?
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let value = String(rest[rest.index(after: colon)...])
            guard Self.isValidTag(value) else {
                throw fail("tag \"\(value)\" must be 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'")
            }
            tag = value
            rest = rest[..<colon]
        }
        guard !rest.isEmpty else { throw fail("no repository name") }

        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var domain = Self.defaultDomain
        if components.count > 1, Self.looksLikeDomain(components[0]) {
            domain = components.removeFirst()
            guard Self.isValidDomain(domain) else { throw fail("registry host \"\(domain)\" is not a valid host[:port]") }
            if domain == "index.docker.io" { domain = Self.defaultDomain }
        }
        for component in components {
            if component != component.lowercased() {
                throw fail("repository name \"\(components.joined(separator: "/"))\" must be lowercase")
            }
            guard Self.isValidPathComponent(component) else {
                throw fail("path component \"\(component)\" must be lowercase letters and digits separated by '.', '_', '__' or '-'")
            }
        }
        if domain == Self.defaultDomain && components.count == 1 { components.insert("library", at: 0) }
        let path = components.joined(separator: "/")
        guard domain.utf8.count + 1 + path.utf8.count <= 255 else { throw fail("repository name longer than 255 bytes") }

        self.domain = domain
        self.path = path
        self.tag = tag ?? (digest == nil ? Self.defaultTag : nil)
        self.digest = digest
    }

    /// `localhost`, or anything with a '.' or a ':' (a port), as Docker decides.
    static func looksLikeDomain(_ s: String) -> Bool {
        s == "localhost" || s.contains(".") || s.contains(":")
    }

    static func isValidDomain(_ s: String) -> Bool {
        var host = Substring(s)
        if let colon = s.lastIndex(of: ":"), !s.hasPrefix("[") || s[..<colon].hasSuffix("]") {
            let port = s[s.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCIIDigit), let n = Int(port), n <= 65535 else { return false }
            host = s[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") {   // IPv6 literal
            return host.count > 2 && host.dropFirst().dropLast().allSatisfy { $0.isHexDigit || $0 == ":" }
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCIILetterOrDigit || $0 == "-" }
        }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    static func isValidPathComponent(_ s: String) -> Bool {
        let chars = Array(s.utf8)
        guard let first = chars.first, let last = chars.last, isAlnum(first), isAlnum(last) else { return false }
        var i = 0
        while i < chars.count {
            if isAlnum(chars[i]) { i += 1; continue }
            var j = i
            while j < chars.count && !isAlnum(chars[j]) { j += 1 }
            let separator = chars[i..<j]
            let ok = separator.elementsEqual([UInt8(ascii: ".")]) || separator.elementsEqual([UInt8(ascii: "_")])
                || separator.elementsEqual([UInt8(ascii: "_"), UInt8(ascii: "_")])
                || separator.allSatisfy { $0 == UInt8(ascii: "-") }
            guard ok else { return false }
            i = j
        }
        return true
    }

    /// `[\w][\w.-]{0,127}`.
    static func isValidTag(_ s: String) -> Bool {
        let chars = Array(s.utf8)
        guard let first = chars.first, chars.count <= 128, isWord(first) else { return false }
        return chars.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    static func validateDigest(_ value: String, _ fail: (String) -> ImageError) throws(ImageError) {
        guard let colon = value.firstIndex(of: ":") else { throw fail("digest \"\(value)\" must be algorithm:hex") }
        let algorithm = value[..<colon]
        guard algorithm == "sha256" || algorithm == "sha512" else {
            throw fail("digest algorithm \"\(algorithm)\" is not supported (sha256, sha512)")
        }
        // The same rule as every other digest the store accepts; the message names the length.
        guard Digest.isValid(value) else {
            throw fail("digest \"\(value)\" must have \(algorithm == "sha256" ? 64 : 128) lowercase hex digits")
        }
    }

    private static func isAlnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
    private static func isWord(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_")
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIILetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}
