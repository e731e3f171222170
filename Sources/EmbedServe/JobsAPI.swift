import EmbedKit
import EmbedServeAPI
import Foundation
import Hummingbird
import NIOCore

extension EmbeddingServer {
    /// `POST /v1/ingest` (`reindex` false) or `POST /v1/reindex`: starts a job and streams its events, one JSON
    /// line each (or server-sent events when the client accepts `text/event-stream`), until it ends. The job
    /// goes on if the client goes away.
    func startJob(_ request: Request, reindex: Bool) async throws -> Response {
        guard let jobs, let search else {
            throw ServeError(status: 404, type: "not_found_error", "no index is served: start embed serve with --db")
        }
        let asked = try await decode(JobRequest.self, from: request, naming: "a job request", emptyBody: "{}")
        let db = asked.db ?? search.indexes[0].path
        guard search.indexPaths.contains(db) else {
            throw ServeError(
                status: 403, type: "permission_error",
                "\(db) is not served; this server writes only \(search.indexPaths.joined(separator: ", "))")
        }
        var roots: [IngestRoot]?
        if !reindex {
            guard !asked.paths.isEmpty else { throw ServeError.invalid("'paths' is empty: give folders or files to ingest") }
            roots = try asked.paths.map { try IngestRoot(path: allowedPath($0)) }
        }
        let job = IngestJob(db: db, roots: roots, pipeline: configuration.jobPipeline)
        let (id, events) = try jobs.start(job, kind: reindex ? "reindex" : "ingest")
        let serverSent = request.headers[.accept]?.contains("text/event-stream") == true
        let first = JSONLines.encode(["event": "started", "job": id])
        return Response(
            status: .ok,
            headers: [.contentType: serverSent ? "text/event-stream" : "application/x-ndjson"],
            body: ResponseBody { writer in
                func send(_ line: String) async throws {
                    try await writer.write(ByteBuffer(string: serverSent ? "data: \(line)\n\n" : line + "\n"))
                }
                try await send(first)
                for await line in events { try await send(line) }
                try await writer.finish(nil)
            })
    }

    /// `path` made absolute and free of symlinks and `..`, when it lies under an allowed root.
    /// - Throws: 400 when it does not exist, 403 when it lies outside every allowed root.
    func allowedPath(_ path: String) throws -> String {
        guard path.hasPrefix("/"), let real = FileWalker.canonicalPath(path) else {
            throw ServeError.invalid("\(path): no such file or folder (give an absolute path on the server)")
        }
        guard configuration.allowedRoots.contains(where: { IngestRoot(path: $0).contains(real) }) else {
            let roots = configuration.allowedRoots
            throw ServeError(
                status: 403, type: "permission_error",
                roots.isEmpty
                    ? "this server ingests nothing: start it with --allow-root FOLDER"
                    : "\(path) is outside the folders this server may ingest (\(roots.joined(separator: ", ")))")
        }
        return real
    }

    /// `GET /v1/jobs/{id}`: the job's state and every event so far.
    func jobStatus(_ id: String) throws -> Response {
        guard let status = jobs?.status(id) else {
            throw ServeError(status: 404, type: "not_found_error", "no job \(id)")
        }
        let head = JSONLines.encode(["id": id, "kind": status.kind, "db": status.db, "state": status.state.rawValue])
        let json = String(head.dropLast()) + ",\"events\":[" + status.events.joined(separator: ",") + "]}"
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    /// `DELETE /v1/jobs/{id}`: the job stops after the batches in flight (what it finished is kept).
    func cancelJob(_ id: String) throws -> Response {
        guard let state = jobs?.cancel(id) else { throw ServeError(status: 404, type: "not_found_error", "no job \(id)") }
        guard state == .running else {
            throw ServeError(status: 409, type: "conflict_error", "job \(id) has already ended (\(state.rawValue))")
        }
        return try Self.json(["id": id, "state": "cancelling"], status: .accepted)
    }
}
