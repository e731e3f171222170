import Foundation

/// The parts of `embed` that read untrusted bytes, each with the properties every input must keep.
///
/// The libFuzzer driver (`fuzz/Sources/embed-fuzz`, run by `scripts/fuzz.sh`) feeds them generated inputs; the
/// regression tests feed them the seed corpora and every input that ever found a bug (`fuzz/regressions`).
/// A check that fails throws a ``FuzzFailure``; a crash, a hang or a memory error is caught by libFuzzer and the
/// sanitizer around it.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Byte decoding: BOMs, declared charsets, the UTF-8 check and the Windows-1252 fallback.
    case decode
    /// The libxml2 HTML parser and the tree walk that turns it into blocks.
    case html
    /// The libxml2 XML parser, with entity expansion under a budget.
    case xml
    /// The Markdown parser: cmark-gfm behind its input guard, and the walk of its tree.
    case markdown
    /// The chunker, on blocks taken straight from the input.
    case chunker
    /// The WordPiece tokenizer of all-MiniLM-L6-v2, with its real vocabulary.
    case tokenizer
    /// The `.safetensors` header reader.
    case safetensors
    /// The reader of an OpenAI-compatible server's embeddings response.
    case response
    /// The gzip decompressor of `NAME.EXT.gz` documents, under its output limit.
    case gzip
    /// The decoders of `embed serve`'s request bodies: embeddings, search and job requests.
    case request
    /// The vector file's manifest and segment header decoders (files beside the index are hostile too).
    case vectorfile

    /// Whether the target needs the model directory (for the tokenizer's vocabulary).
    public var needsModel: Bool { self == .tokenizer }
}

/// A property that an input broke.
public struct FuzzFailure: Error, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Fails with `message` unless `condition` holds.
func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFailure) {
    if !condition { throw FuzzFailure(message()) }
}
