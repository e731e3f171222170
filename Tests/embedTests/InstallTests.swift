import EmbedKitTestSupport
import Foundation
import Testing

/// `scripts/install.sh` into a temporary prefix, then the installed `embed` run as cron runs it (`env -i`, another
/// folder, no `EMBED_MODEL_DIR`) and completed in a real bash under tmux.
///
/// The install takes the binary the tests run (`--binary`): a release build here would wait for the lock that
/// `swift test` holds on `.build`. The man page generator is the one `swift package plugin generate-manual --help`
/// builds (scripts/test.sh does).
@Suite("scripts/install.sh and the installed embed", .serialized)
struct InstallTests {
    /// A verified model to install: `$EMBED_MODEL_DIR`, else the repository's `models/all-MiniLM-L6-v2`.
    static let modelSource: String? = {
        var candidates = [EmbedBinary.repository.appendingPathComponent("models/all-MiniLM-L6-v2").path]
        if let chosen = ProcessInfo.processInfo.environment["EMBED_MODEL_DIR"], !chosen.isEmpty {
            candidates.insert(chosen, at: 0)
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/model.safetensors") }
    }()

    /// The generate-manual tool built by swift-argument-parser's plugin, which install.sh runs with `--binary`:
    /// `.build/<triple>/<configuration>/generate-manual-tool` (SwiftPM 6), `.build/plugins/tools/<configuration>/
    /// generate-manual` (older).
    static let hasManualGenerator: Bool = {
        let files = FileManager.default
        let build = EmbedBinary.repository.appendingPathComponent(".build")
        var candidates: [URL] = []
        for folder in (try? files.contentsOfDirectory(atPath: build.path)) ?? [] {
            for configuration in ["debug", "release"] {
                candidates.append(build.appendingPathComponent("\(folder)/\(configuration)/generate-manual-tool"))
                candidates.append(build.appendingPathComponent("plugins/tools/\(configuration)/generate-manual"))
            }
        }
        return candidates.contains { files.isExecutableFile(atPath: $0.path) }
    }()

    static let canInstall = modelSource != nil && hasManualGenerator && EmbedBinary.executable != nil
    static let whyNot: String = {
        if modelSource == nil { return "no model to install: run scripts/fetch-model.sh or set EMBED_MODEL_DIR" }
        if EmbedBinary.executable == nil { return "build embed first: swift build" }
        return "the man page generator is not built: run `swift package plugin generate-manual --help` "
            + "(scripts/test.sh does)"
    }()

    static let hasTmux = FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux")
        && FileManager.default.fileExists(atPath: "/usr/share/bash-completion/bash_completion")

    /// `value` quoted for bash.
    static func quoted(_ value: String) -> String { "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// A temporary prefix with embed installed by scripts/install.sh, and an empty home folder.
    struct Installation {
        let root: TemporaryDirectory
        var prefix: String { root.path + "/prefix" }
        var home: String { root.path + "/home" }

        init() async throws {
            root = try TemporaryDirectory(prefix: "embed-install")
            let binary = try #require(EmbedBinary.executable).path
            let model = try #require(InstallTests.modelSource)
            try FileManager.default.createDirectory(atPath: root.path + "/home", withIntermediateDirectories: true)
            let install = await EmbedBinary.shell(
                "\(quoted(EmbedBinary.repository.path + "/scripts/install.sh"))"
                    + " --prefix \(quoted(root.path + "/prefix"))"
                    + " --binary \(quoted(binary)) --model-from \(quoted(model))")
            try #require(install.status == 0, "\(install.output)")
        }

        /// `env -i` with only PATH and HOME, as cron starts a job (plus the sanitizers' options when the tests run
        /// under one, so a sanitized binary behaves as in the rest of the suite).
        var cronEnvironment: String {
            var variables = ["PATH=\(prefix)/bin:/usr/bin:/bin", "HOME=\(home)"]
            for name in ["ASAN_OPTIONS", "TSAN_OPTIONS"] {
                if let value = ProcessInfo.processInfo.environment[name] { variables.append("\(name)=\(value)") }
            }
            return "env -i " + variables.map(InstallTests.quoted).joined(separator: " ")
        }

        /// Runs `command` in `directory` under ``cronEnvironment``; stdout and stderr are returned apart.
        func cron(_ command: String, in directory: String) async -> (status: Int32, stdout: String, stderr: String) {
            let err = root.path + "/stderr-\(UUID().uuidString)"
            let run = await EmbedBinary.shell(
                "cd \(quoted(directory)) && \(cronEnvironment) bash -c \(quoted(command)) 2>\(quoted(err))")
            let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            return (run.status, run.output, stderr)
        }
    }

    @Test(
        "install.sh puts the binary, the verified model, completions and a man page under the prefix",
        .enabled(if: canInstall, Comment(rawValue: whyNot)))
    func layout() async throws {
        let installation = try await Installation()
        defer { installation.root.remove() }
        let prefix = installation.prefix
        let files = FileManager.default
        #expect(files.isExecutableFile(atPath: prefix + "/bin/embed"))
        for file in [
            "share/bash-completion/completions/embed", "share/zsh/site-functions/_embed",
            "share/fish/vendor_completions.d/embed.fish", "share/man/man1/embed.1",
            "share/embed/models/all-MiniLM-L6-v2/model.safetensors",
            "share/embed/models/all-MiniLM-L6-v2/1_Pooling/config.json",
        ] {
            #expect(files.fileExists(atPath: prefix + "/" + file), "\(file) is missing")
        }
        let man = try String(contentsOfFile: prefix + "/share/man/man1/embed.1", encoding: .utf8)
        #expect(man.contains(".Dt EMBED 1"))
        #expect(man.contains("reindex"))
        #expect(man.contains("EMBED_DB"))
        let bash = try String(contentsOfFile: prefix + "/share/bash-completion/completions/embed", encoding: .utf8)
        #expect(bash.contains("complete -o filenames -F _embed embed"))
        let zsh = try String(contentsOfFile: prefix + "/share/zsh/site-functions/_embed", encoding: .utf8)
        #expect(zsh.hasPrefix("#compdef embed"))

        // The installed model is checked: a damaged one is refused, and install.sh says why.
        let damaged = try TemporaryDirectory()
        defer { damaged.remove() }
        let copy = await EmbedBinary.shell(
            "cp -R \(Self.quoted(try #require(Self.modelSource)))/. \(Self.quoted(damaged.path))"
                + " && printf x >> \(Self.quoted(damaged.path + "/vocab.txt"))")
        #expect(copy.status == 0, "\(copy.output)")
        let refused = await EmbedBinary.shell(
            "\(Self.quoted(EmbedBinary.repository.path + "/scripts/install.sh")) --prefix \(Self.quoted(prefix + "2"))"
                + " --binary \(Self.quoted(prefix + "/bin/embed")) --model-from \(Self.quoted(damaged.path))")
        #expect(refused.status != 0)
        #expect(refused.output.contains("does not hold the all-MiniLM-L6-v2 files with the expected SHA-256 checksums"))
        #expect(refused.output.contains("vocab.txt: FAILED"))
        #expect(!files.fileExists(atPath: prefix + "2/share/embed/models/all-MiniLM-L6-v2"))
        try? files.removeItem(atPath: prefix + "2")
    }

    @Test(
        "the installed embed ingests, queries and reindexes from another folder under env -i, as cron runs it",
        .enabled(if: canInstall, Comment(rawValue: whyNot)))
    func cron() async throws {
        let installation = try await Installation()
        defer { installation.root.remove() }
        let root = installation.root
        let prefix = installation.prefix
        try root.write("srv/docs/lighthouse.txt", "The keeper climbed the lighthouse stairs at night to tend the lamp.")
        try root.write("srv/docs/bread.md", "# Bread\n\nA sourdough starter is flour and water, fed every day.")
        let srv = root.path + "/srv"

        // A first ingest with the default embedder (minilm): the model is found beside the installed binary.
        let ingest = await installation.cron("embed ingest docs --db index.sqlite", in: srv)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stderr.contains("Indexed 2 files: 2 added"), "\(ingest.stderr)")
        let query = await installation.cron(
            "embed query --mode vector -k 1 --db index.sqlite 'who tends the light at night'", in: srv)
        #expect(query.status == 0, "\(query.stderr)")
        #expect(query.stdout.contains("docs/lighthouse.txt"), "\(query.stdout)")

        // The README's crontab line, with this prefix and folder.
        try root.write("srv/docs/glacier.txt", "Glaciers flow downhill under their own weight, slowly grinding rock.")
        let cronLine = await installation.cron(
            "cd \(Self.quoted(srv)) && \(prefix)/bin/embed reindex --quiet --db index.sqlite", in: root.path + "/home")
        #expect(cronLine.status == 0, "\(cronLine.stderr)")
        #expect(!cronLine.stderr.contains("error"), "\(cronLine.stderr)")
        // The README's systemd service: WorkingDirectory, then ExecStart.
        let service = await installation.cron("\(prefix)/bin/embed reindex --quiet --wait --db index.sqlite", in: srv)
        #expect(service.status == 0, "\(service.stderr)")
        #expect(service.stderr == "")
        let found = await installation.cron(
            "embed query --mode vector -k 1 --db index.sqlite 'why do ice rivers move'", in: srv)
        #expect(found.stdout.contains("docs/glacier.txt"), "\(found.stdout)\(found.stderr)")

        // EMBED_DB names the default index, from any folder.
        let elsewhere = await installation.cron(
            "EMBED_DB=\(Self.quoted(srv + "/index.sqlite")) embed query -k 1 'fed flour and water'", in: root.path)
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
        #expect(elsewhere.stdout.contains("docs/bread.md"), "\(elsewhere.stdout)")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/output"))

        // Through a symlink on PATH, the model is still found beside the resolved executable.
        try FileManager.default.createDirectory(atPath: root.path + "/links", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: root.path + "/links/embed", withDestinationPath: prefix + "/bin/embed")
        let linked = await installation.cron(
            "PATH=\(root.path)/links:/usr/bin:/bin embed query --mode vector -k 1 --db index.sqlite 'lamp'", in: srv)
        #expect(linked.status == 0, "\(linked.stderr)")
        #expect(linked.stdout.contains("docs/lighthouse.txt"))
    }

    @Test(
        "a binary with no model near it says every place it looked",
        .enabled(if: canInstall, Comment(rawValue: whyNot)))
    func modelNotFound() async throws {
        let installation = try await Installation()
        defer { installation.root.remove() }
        let root = installation.root
        // The binary alone, in a prefix without share/: nothing beside it, an empty home, no ./models.
        try FileManager.default.createDirectory(atPath: root.path + "/bare/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: installation.prefix + "/bin/embed", toPath: root.path + "/bare/bin/embed")
        try FileManager.default.createDirectory(atPath: root.path + "/work", withIntermediateDirectories: true)
        let run = await installation.cron("\(root.path)/bare/bin/embed encode 'some words'", in: root.path + "/work")
        let systemCopies = ["/usr/local/share", "/usr/share"].contains {
            FileManager.default.fileExists(atPath: $0 + "/embed/models/all-MiniLM-L6-v2")
        }
        if systemCopies {
            print("skipping the not-found message check: a system-wide model is installed on this machine")
            return
        }
        #expect(run.status == 3, "\(run.stderr)")
        let places = [
            "\(root.path)/bare/share/embed/models/all-MiniLM-L6-v2 (beside the executable)",
            "\(installation.home)/.local/share/embed/models/all-MiniLM-L6-v2 (~/.local/share)",
            "/usr/local/share/embed/models/all-MiniLM-L6-v2 (system)",
            "/usr/share/embed/models/all-MiniLM-L6-v2 (system)",
            "\(root.path)/work/models/all-MiniLM-L6-v2 (./models)",
        ]
        #expect(run.stderr.contains("looked in " + places.joined(separator: ", ") + ". "), "\(run.stderr)")
    }

    @Test(
        "bash completes folders for ingest and lists --mode's values, with the installed completion script",
        .enabled(if: canInstall, Comment(rawValue: whyNot)),
        .enabled(if: hasTmux, "tmux or bash-completion is missing: scripts/test.sh installs both"))
    func bashCompletion() async throws {
        let installation = try await Installation()
        defer { installation.root.remove() }
        let root = installation.root
        try root.write("work/corpus/a.txt", "words")
        try root.write("work/other.txt", "words")
        let socket = "embed-test-\(UUID().uuidString.prefix(8))"
        let tmux = "tmux -L \(socket)"
        // bash-completion finds completions in each folder of XDG_DATA_DIRS (default /usr/local/share:/usr/share).
        let shell =
            "\(installation.cronEnvironment) TERM=xterm"
            + " XDG_DATA_DIRS=\(installation.prefix)/share:/usr/local/share:/usr/share bash --noprofile --norc"
        // The tmux server outlives the command that starts it and keeps every file it inherits. Foundation's
        // Process learns that a child ended when a socket the child inherited closes, and the pipes are read to
        // their end: so the server must get neither, or the test waits for it to exit. Close all but 0-2.
        let closeInherited = #"for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done"#
        let started = await EmbedBinary.shell(
            "\(closeInherited) 2>/dev/null; \(tmux) new-session -d -x 160 -y 40 -c \(Self.quoted(root.path + "/work"))"
                + " \(Self.quoted(shell)) </dev/null >/dev/null 2>&1")
        try #require(started.status == 0, "\(started.output)")
        do {
            try await typeAndCheck(tmux: tmux)
        } catch {
            _ = await EmbedBinary.shell("\(tmux) kill-server")
            throw error
        }
        _ = await EmbedBinary.shell("\(tmux) kill-server")
    }

    /// Types into the bash that runs in `tmux`'s session and checks what completion puts on the screen.
    func typeAndCheck(tmux: String) async throws {

        func type(_ keys: String...) async {
            _ = await EmbedBinary.shell("\(tmux) send-keys -t 0 " + keys.map(Self.quoted).joined(separator: " "))
        }
        /// The screen once it shows `expected`, or after 10 s.
        func screen(showing expected: String) async throws -> String {
            var text = ""
            for _ in 0..<100 {
                text = await EmbedBinary.shell("\(tmux) capture-pane -p -t 0").output
                if text.contains(expected) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return text
        }

        await type("PS1='$ '; source /usr/share/bash-completion/bash_completion; clear", "Enter")
        _ = try await screen(showing: "$ ")
        await type("embed ingest corp", "Tab")
        let folder = try await screen(showing: "embed ingest corpus/")
        #expect(folder.contains("$ embed ingest corpus/"), "\(folder)")

        await type("C-u", "clear", "Enter")
        await type("embed query --mode ", "Tab", "Tab")
        let modes = try await screen(showing: "vector")
        #expect(modes.contains("hybrid") && modes.contains("keyword") && modes.contains("vector"), "\(modes)")

        await type("C-u", "clear", "Enter")
        await type("embed query --format ", "Tab", "Tab")
        let formats = try await screen(showing: "markdown")
        #expect(["text", "markdown", "rst", "html", "xml"].allSatisfy(formats.contains), "\(formats)")

        await type("C-u", "clear", "Enter")
        await type("embed ingest --encoding b", "Tab")
        let encoding = try await screen(showing: "--encoding base64")
        #expect(encoding.contains("$ embed ingest --encoding base64"), "\(encoding)")

        await type("C-u", "clear", "Enter")
        await type("embed ingest --model-dir corp", "Tab")
        let directory = try await screen(showing: "--model-dir corpus/")
        #expect(directory.contains("$ embed ingest --model-dir corpus/"), "\(directory)")
    }
}
