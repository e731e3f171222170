/// What `embed stats` and `embed export` read from an index, whichever the store (SQLite or PostgreSQL).
public protocol IndexContents {
    func statistics() throws -> IndexStatistics
    /// The index's problems, one line each; none when it is sound.
    func check() throws -> [String]
    /// What is wrong with the files derived from the index (SQLite's vector file); nil when nothing is.
    func vectorFileProblem() throws -> String?
    func keywordIndexState() throws -> KeywordIndexState
    func keywordIndexProblem() throws -> KeywordIndexProblem?
    /// Calls `body` with every chunk, in path then ordinal order, with its vector when `withVectors`.
    func forEachChunk(withVectors: Bool, _ body: (StoredChunk, [Float]?) throws -> Void) throws
}

extension IndexReader: IndexContents {}
