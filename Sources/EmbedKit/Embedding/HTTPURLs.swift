public import Foundation

/// URL rules shared by the transport, the embedder and the command line: origins for redirects, and keeping
/// user names and passwords out of records and messages.
public enum HTTPURLs {
    /// Whether `url` names a user or a password (`http://user:pw@host/`).
    public static func hasUserInfo(_ url: URL) -> Bool {
        url.user != nil || url.password != nil
    }

    /// `url` without its user name and password; unchanged when it has none.
    public static func removingUserInfo(_ url: URL) -> URL {
        guard hasUserInfo(url), var components = URLComponents(url: url, resolvingAgainstBaseURL: true) else {
            return url
        }
        components.user = nil
        components.password = nil
        return components.url ?? url
    }

    /// `text` without a user name and password when it is a URL that has them; unchanged otherwise.
    public static func removingUserInfo(_ text: String) -> String {
        guard let url = URL(string: text), hasUserInfo(url) else { return text }
        return removingUserInfo(url).absoluteString
    }

    /// A URL for messages: no user info, query or fragment (they may hold secrets), at most 200 characters.
    static func display(_ url: URL) -> String {
        var text = removingUserInfo(url).absoluteString
        if var components = URLComponents(string: text) {
            components.query = nil
            components.fragment = nil
            text = components.string ?? text
        }
        return text.count > 200 ? String(text.prefix(200)) + "..." : text
    }

    /// Where a redirect response points, resolved against the URL that answered it.
    static func redirectTarget(_ response: HTTPResponse, from url: URL) -> URL? {
        guard let location = response.header("location"), !location.isEmpty else { return nil }
        return URL(string: location, relativeTo: url)?.absoluteURL
    }

    /// Same scheme, host and port (the scheme's default port when none is given).
    static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        func origin(_ url: URL) -> (String, String, Int)? {
            guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
            let port = url.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
            return (scheme, host, port)
        }
        guard let x = origin(a), let y = origin(b) else { return false }
        return x == y
    }
}
