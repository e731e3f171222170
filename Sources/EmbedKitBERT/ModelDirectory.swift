public import Foundation

extension Bert {
    /// The environment variable that names the model directory.
    public static let modelDirectoryEnvironmentVariable = "EMBED_MODEL_DIR"
    /// Where the fetch script puts the model, relative to the repository root.
    public static let defaultModelPath = "models/all-MiniLM-L6-v2"
    /// The command that fetches the model, named in every "model unavailable" error.
    public static let fetchCommand = "scripts/fetch-model.sh"

    /// Finds the all-MiniLM-L6-v2 model directory.
    ///
    /// In order: `explicit` when given; else `$EMBED_MODEL_DIR` when set and not empty; else
    /// `models/all-MiniLM-L6-v2` under `currentDirectory` when it exists; else
    /// `../../models/all-MiniLM-L6-v2` from the executable's directory when it exists (so
    /// `.build/release/embed` finds the repository's `models/`; the same path from the resolved
    /// `.build/<triple>/release/` directory is tried too). Nothing is downloaded.
    ///
    /// - Returns: the directory, or nil when no candidate exists (the caller reports
    ///   ``fetchCommand``).
    public static func resolveModelDirectory(
        explicit: URL? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true),
        executable: URL? = Bert.executableURL()
    ) -> URL? {
        if let explicit { return explicit }
        if let path = environment[modelDirectoryEnvironmentVariable], !path.isEmpty {
            return URL(fileURLWithPath: path, isDirectory: true, relativeTo: currentDirectory).standardizedFileURL
        }
        var candidates = [currentDirectory.appendingPathComponent(defaultModelPath, isDirectory: true)]
        if let executable {
            let directory = executable.deletingLastPathComponent()
            let resolved = executable.resolvingSymlinksInPath().deletingLastPathComponent()
            candidates.append(directory.appendingPathComponent("../../" + defaultModelPath, isDirectory: true))
            candidates.append(resolved.appendingPathComponent("../../" + defaultModelPath, isDirectory: true))
            candidates.append(resolved.appendingPathComponent("../../../" + defaultModelPath, isDirectory: true))
        }
        return candidates.lazy.map(\.standardizedFileURL).first { url in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    /// The running executable as invoked (`argv[0]` when it is a path), else as the system reports it.
    public static func executableURL() -> URL? {
        if let first = CommandLine.arguments.first, first.contains("/") {
            return URL(fileURLWithPath: first).standardizedFileURL
        }
        return Bundle.main.executableURL
    }
}
