import ArgumentParser

@main
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Turn folders of documents into a searchable embedding index."
    )
}
