public import EmbedKit
import Foundation

/// An in-memory ``HTTPTransport`` for unit tests: answers from a script, then correctly.
///
/// Each request takes the next scripted ``Step``; when the script is used up it answers with
/// ``DeterministicVectors`` of ``dimension`` for the request's inputs. It records every request.
public final class FakeHTTPTransport: HTTPTransport {
    public enum Step: Sendable {
        /// Answer this response.
        case respond(HTTPResponse)
        /// Answer this status with these headers and an empty JSON body.
        case status(Int, headers: [String: String] = [:])
        /// Throw a transport error of this kind.
        case fail(HTTPTransportError.Code)
        /// Answer correctly but with vectors of this dimension.
        case wrongDimension(Int)
        /// Answer correctly but drop the last embedding.
        case dropLast
        /// Answer a body that is not JSON.
        case malformed
    }

    public let dimension: Int
    private let state: Locked<(script: [Step], requests: [HTTPRequest])>

    public init(dimension: Int = 4, script: [Step] = []) {
        self.dimension = dimension
        state = Locked((script, []))
    }

    /// Every request sent so far, in order.
    public var requests: [HTTPRequest] { state.withLock { $0.requests } }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let step: Step? = state.withLock { state in
            state.requests.append(request)
            return state.script.isEmpty ? nil : state.script.removeFirst()
        }
        let inputs = DeterministicVectors.inputs(ofRequestBody: request.body) ?? []
        let base64 = DeterministicVectors.requestFields(request.body).encoding == "base64"
        func answer(_ dimension: Int, _ inputs: [String]) -> HTTPResponse {
            let vectors = inputs.map { DeterministicVectors.vector(for: $0, dimension: dimension) }
            return HTTPResponse(status: 200, body: DeterministicVectors.responseBody(vectors, base64: base64))
        }
        switch step {
        case nil: return answer(DeterministicVectors.requestFields(request.body).dimensions ?? dimension, inputs)
        case .respond(let response): return response
        case .status(let status, let headers):
            return HTTPResponse(status: status, headers: headers, body: Data("{}".utf8))
        case .fail(let kind): throw HTTPTransportError(kind, "scripted \(kind) failure")
        case .wrongDimension(let wrong): return answer(wrong, inputs)
        case .dropLast: return answer(dimension, Array(inputs.dropLast()))
        case .malformed: return HTTPResponse(status: 200, body: Data("{\"data\": [".utf8))
        }
    }
}
