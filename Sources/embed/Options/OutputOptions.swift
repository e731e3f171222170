import ArgumentParser

/// `--json`, `--quiet` and `--progress`.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print results as JSON lines on stdout.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print only problems on stderr.")
    var quiet = false

    @Flag(help: "Show the live progress line even when stderr is not a terminal.")
    var progress = false

    var showsProgress: Bool { !quiet && (progress || Terminal.stderrIsTTY) }
}
