import EmbedKit
import Foundation
import Testing

@Suite("EndpointList")
struct EndpointListTests {
    @Test("one URL per line; blank lines, # comments, spaces around and CRLF line ends ignored")
    func parses() throws {
        let text = "# the fleet\r\nhttp://10.0.0.1:8080/v1\r\n\n   \n  https://b.example/v1  \n# http://off/v1\n"
        #expect(try EndpointList.parse(text, source: "fleet.txt") == ["http://10.0.0.1:8080/v1", "https://b.example/v1"])
    }

    @Test(
        "a bad line is an error naming the file and the line",
        arguments: [
            ("http://a/v1\nnot a url\n", "fleet.txt:2: 'not a url' is not an http(s) URL; write one base URL per line, such as http://10.0.0.2:8080/v1."),
            ("\n\nftp://a/v1", "fleet.txt:3: 'ftp://a/v1' is not an http(s) URL; write one base URL per line, such as http://10.0.0.2:8080/v1."),
            ("http:///v1", "fleet.txt:1: 'http:///v1' is not an http(s) URL; write one base URL per line, such as http://10.0.0.2:8080/v1."),
            ("# c\nhttp://u:secret@a/v1", "fleet.txt:2: the URL must not contain a user name or password (they would be stored in the index in plain text). Give the API key in an environment variable instead (--api-key-env)."),
            ("# only comments\n\n", "fleet.txt: lists no endpoint. Write one base URL per line, such as http://10.0.0.2:8080/v1."),
        ])
    func badLine(text: String, message: String) {
        let error = #expect(throws: UsageError.self) { try EndpointList.parse(text, source: "fleet.txt") }
        #expect(error?.message == message)
        #expect(error?.message.contains("secret") == false)
    }

    @Test("a missing file is named")
    func missingFile() {
        let error = #expect(throws: UsageError.self) { try EndpointList.read("/nonexistent/fleet.txt") }
        #expect(error?.message == "/nonexistent/fleet.txt: no such file (--endpoints lists one base URL per line).")
    }

    @Test("the recipe keeps base_url as the first endpoint and the others in more_base_urls; one endpoint adds no key")
    func recipe() throws {
        let fleet = OpenAIRecipe(baseURL: "http://a/v1", model: "m", moreBaseURLs: ["http://b/v1", "http://c/v1"])
        let json = String(decoding: try JSONEncoder().encode(fleet), as: UTF8.self)
        #expect(json.contains(#""base_url":"http:\/\/a\/v1""#))
        #expect(json.contains(#""more_base_urls":"http:\/\/b\/v1\nhttp:\/\/c\/v1""#))
        #expect(try JSONDecoder().decode(OpenAIRecipe.self, from: Data(json.utf8)) == fleet)
        let single = String(
            decoding: try JSONEncoder().encode(OpenAIRecipe(baseURL: "http://a/v1", model: "m", moreBaseURLs: [])),
            as: UTF8.self)
        #expect(!single.contains("more_base_urls"))

        // Flags over the recorded fleet: a base URL given replaces the whole list; none given keeps it.
        #expect(OpenAIRecipe(model: "m").over(fleet).moreBaseURLs == ["http://b/v1", "http://c/v1"])
        #expect(OpenAIRecipe(baseURL: "http://d/v1").over(fleet).moreBaseURLs == nil)
        #expect(
            OpenAIRecipe(baseURL: "http://u:p@x/v1", moreBaseURLs: ["http://u:p@y/v1"]).recordable.moreBaseURLs
                == ["http://y/v1"])
    }
}
