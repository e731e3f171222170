@testable import EmbedKit
import Foundation
import Testing

@Suite("Error shape")
struct CodedErrorTests {
    struct Underlying: Error {}

    /// The three fields every error of the package has, read through the protocol.
    func shape(_ error: some CodedError) -> (message: String, description: String, hasCause: Bool) {
        (error.message, error.description, error.cause != nil)
    }

    @Test("every error prints its message as is and carries its cause, when given, beside it")
    func alike() {
        let errors: [any CodedError] = [
            StoreError(.corrupt, "index.sqlite is damaged; rebuild it", cause: Underlying()),
            EmbeddingError(.transport, "the server did not answer; try again later", cause: Underlying()),
            ParsingError(.malformed, "nothing to read; fix the markup", cause: Underlying()),
            HTTPTransportError(.timedOut, "no complete response within 60 s", cause: Underlying()),
            FileReadingError(.notRegularFile, "not a regular file", cause: Underlying()),
        ]
        for error in errors {
            let (message, description, hasCause) = shape(error)
            #expect(description == message)
            #expect(hasCause)
            #expect(error.cause is Underlying)
        }
        #expect(StoreError(.busy, "busy").cause == nil)
    }

    @Test("parsing errors compare by code and message, whatever their causes")
    func parsingEquality() {
        #expect(ParsingError(.binary, "binary", cause: Underlying()) == ParsingError(.binary, "binary"))
        #expect(ParsingError(.binary, "binary") != ParsingError(.malformed, "binary"))
    }

    @Test("a failed system call keeps its errno as the cause; a full disk is told apart")
    func systemCalls() {
        let full = VectorFileError(path: "/x.vectors", errno: ENOSPC)
        #expect(full.isDiskFull)
        #expect(full.message == "/x.vectors: \(String(cString: strerror(ENOSPC)))")
        #expect((full.cause as? POSIXError)?.code == .ENOSPC)
        #expect(!VectorFileError(path: "/x.vectors", errno: EACCES).isDiskFull)
    }
}
