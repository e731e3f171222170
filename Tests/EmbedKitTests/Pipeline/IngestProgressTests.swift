@testable import EmbedKit
import Testing

@Suite("IngestProgress")
struct IngestProgressTests {
    func progress(
        walkFinished: Bool = true, bytesFound: Int64, bytesSettled: Int64, toEmbed: Int, embedded: Int, elapsed: Double
    ) -> IngestProgress {
        IngestProgress(
            filesFound: 1, filesDone: 0, walkFinished: walkFinished, chunksStored: 0, chunksEmbedded: embedded,
            bytesRead: 0, elapsedSeconds: elapsed, bytesFound: bytesFound, bytesSettled: bytesSettled,
            chunksToEmbed: toEmbed)
    }

    @Test("the ETA counts chunks still to embed, scaled to the bytes not yet parsed, at the rate so far")
    func estimate() {
        // One huge file, parsed: 100 chunks, 25 embedded in 10 s, so 75 more at 2.5 a second.
        #expect(progress(bytesFound: 1000, bytesSettled: 1000, toEmbed: 100, embedded: 25, elapsed: 10)
            .estimatedSecondsLeft == 30)
        // Half the bytes parsed: about 200 chunks in all.
        #expect(progress(bytesFound: 2000, bytesSettled: 1000, toEmbed: 100, embedded: 25, elapsed: 10)
            .estimatedSecondsLeft == 70)
        // Unknown until the walk has finished, or before anything was embedded.
        #expect(progress(walkFinished: false, bytesFound: 1000, bytesSettled: 1000, toEmbed: 100, embedded: 25, elapsed: 10)
            .estimatedSecondsLeft == nil)
        #expect(progress(bytesFound: 1000, bytesSettled: 1000, toEmbed: 100, embedded: 0, elapsed: 10)
            .estimatedSecondsLeft == nil)
    }
}
