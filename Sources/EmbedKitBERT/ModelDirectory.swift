public import Foundation

extension Bert {
    /// The environment variable that names the model directory.
    public static let modelDirectoryEnvironmentVariable = "EMBED_MODEL_DIR"
    /// The model's own folder, inside each of the models folders that are searched.
    public static let modelFolderName = "all-MiniLM-L6-v2"
    /// Where the fetch script puts the model, relative to the repository root (and where `./models` is searched).
    public static let defaultModelPath = "models/all-MiniLM-L6-v2"
    /// The command that fetches the model, named in every "model unavailable" error.
    public static let fetchCommand = "scripts/fetch-model.sh"
    /// The command that installs `embed` with its model, named in the "model not found" error.
    public static let installCommand = "scripts/install.sh"
    /// The system data folders searched after the user's, as `scripts/install.sh` fills them by default.
    public static let systemDataDirectories = [
        URL(fileURLWithPath: "/usr/local/share", isDirectory: true),
        URL(fileURLWithPath: "/usr/share", isDirectory: true),
    ]

    /// One place where the model may be.
    public struct ModelLocation: Sendable, Hashable {
        /// The model's folder (the one holding `config.json`).
        public var url: URL
        /// Why this place is searched, as the error message shows it (`$EMBED_MODEL_DIR`, `beside the executable`).
        public var origin: String
        /// Named on purpose (`--model-dir`, `$EMBED_MODEL_DIR`): used or reported, never passed over.
        public var isChosen: Bool

        /// A place where the model may be.
        public init(url: URL, origin: String, isChosen: Bool = false) {
            self.url = url
            self.origin = origin
            self.isChosen = isChosen
        }
    }

    /// Every place the all-MiniLM-L6-v2 model is looked for, in order.
    ///
    /// `explicit` (`--model-dir`) when given, else `$EMBED_MODEL_DIR` when set and not empty, is the only place:
    /// a folder named on purpose is used or reported, never passed over. Otherwise, each holding an
    /// `all-MiniLM-L6-v2` folder:
    /// 1. `../share/embed/models` beside the executable, symlinks resolved (where `scripts/install.sh` puts it);
    /// 2. `$XDG_DATA_HOME/embed/models` (default `~/.local/share/embed/models`);
    /// 3. `embed/models` under each of `systemDataDirectories` (`/usr/local/share`, `/usr/share`);
    /// 4. `./models`, under `currentDirectory`;
    /// 5. when the executable lies in a SwiftPM build folder (`.build`, `.build-*`), the `models` folder of the
    ///    repository that holds it, so a development build finds `scripts/fetch-model.sh`'s copy from anywhere.
    ///
    /// - Returns: the places, in the order they are tried.
    public static func modelLocations(
        explicit: URL? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true),
        executable: URL? = Bert.executableURL(),
        systemDataDirectories: [URL] = Bert.systemDataDirectories
    ) -> [ModelLocation] {
        if let explicit { return [ModelLocation(url: explicit, origin: "--model-dir", isChosen: true)] }
        if let path = environment[modelDirectoryEnvironmentVariable], !path.isEmpty {
            let url = URL(fileURLWithPath: path, isDirectory: true, relativeTo: currentDirectory).standardizedFileURL
            return [ModelLocation(url: url, origin: "$\(modelDirectoryEnvironmentVariable)", isChosen: true)]
        }
        func models(_ folder: URL, _ origin: String) -> ModelLocation {
            ModelLocation(
                url: folder.appendingPathComponent(modelFolderName, isDirectory: true).standardizedFileURL,
                origin: origin)
        }
        var locations: [ModelLocation] = []
        let resolved = executable?.resolvingSymlinksInPath()
        if let resolved {
            let prefix = resolved.deletingLastPathComponent().deletingLastPathComponent()
            locations.append(models(prefix.appendingPathComponent("share/embed/models"), "beside the executable"))
        }
        // XDG Base Directory: a relative $XDG_DATA_HOME is invalid and ignored.
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            let folder = URL(fileURLWithPath: data).appendingPathComponent("embed/models")
            locations.append(models(folder, "$XDG_DATA_HOME"))
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            let folder = URL(fileURLWithPath: home).appendingPathComponent(".local/share/embed/models")
            locations.append(models(folder, "~/.local/share"))
        }
        for system in systemDataDirectories {
            locations.append(models(system.appendingPathComponent("embed/models"), "system"))
        }
        locations.append(models(currentDirectory.appendingPathComponent("models"), "./models"))
        if let resolved, let repository = buildFolderParent(resolved) {
            locations.append(models(repository.appendingPathComponent("models"), "the repository of this build"))
        }
        var seen = Set<String>()
        return locations.filter { seen.insert($0.url.path).inserted }
    }

    /// Finds the all-MiniLM-L6-v2 model directory: the first of
    /// ``modelLocations(explicit:environment:currentDirectory:executable:systemDataDirectories:)`` that is a folder, or the one place given on purpose (`explicit`, `$EMBED_MODEL_DIR`) whether or not it
    /// exists. Nothing is downloaded.
    ///
    /// - Returns: the directory, or nil when no candidate exists (the caller reports the places looked at).
    public static func resolveModelDirectory(
        explicit: URL? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true),
        executable: URL? = Bert.executableURL(),
        systemDataDirectories: [URL] = Bert.systemDataDirectories
    ) -> URL? {
        let locations = modelLocations(
            explicit: explicit, environment: environment, currentDirectory: currentDirectory, executable: executable,
            systemDataDirectories: systemDataDirectories)
        return firstModelDirectory(in: locations)
    }

    /// The first of `locations` that is chosen on purpose or is a folder.
    public static func firstModelDirectory(in locations: [ModelLocation]) -> URL? {
        locations.first { location in
            var isDirectory: ObjCBool = false
            return location.isChosen
                || (FileManager.default.fileExists(atPath: location.url.path, isDirectory: &isDirectory)
                    && isDirectory.boolValue)
        }?.url
    }

    /// The running executable: as the system reports it (on Linux `/proc/self/exe`, symlinks already resolved),
    /// else `argv[0]` when it is a path.
    public static func executableURL() -> URL? {
        if let url = Bundle.main.executableURL { return url }
        if let first = CommandLine.arguments.first, first.contains("/") {
            return URL(fileURLWithPath: first).standardizedFileURL
        }
        return nil
    }

    /// The folder holding the SwiftPM build folder (`.build`, `.build-NAME`, `.build_NAME`) that `executable`
    /// lies in, or nil when it lies in none.
    static func buildFolderParent(_ executable: URL) -> URL? {
        let components = executable.standardizedFileURL.pathComponents
        guard
            let index = components.lastIndex(where: {
                $0 == ".build" || $0.hasPrefix(".build-") || $0.hasPrefix(".build_")
            }), index > 0
        else { return nil }
        return URL(fileURLWithPath: NSString.path(withComponents: Array(components[..<index])), isDirectory: true)
    }

    /// The error for a model found in none of `locations`: every place looked at, in order, and how to put the
    /// model in one.
    public static func notFoundMessage(_ locations: [ModelLocation]) -> String {
        let places = locations.map { "\($0.url.path) (\($0.origin))" }.joined(separator: ", ")
        return "The all-MiniLM-L6-v2 model was not found; looked in \(places). Give its folder with --model-dir or "
            + "$\(modelDirectoryEnvironmentVariable), install it beside embed with \(installCommand), or fetch it "
            + "into ./\(defaultModelPath) with \(fetchCommand)."
    }
}
