/// The order of every ranking: the higher score first; equal scores by their tie-breakers, the lower first
/// (row, index order then chunk id, ranks...), so that results never depend on the order rows were scanned,
/// indexes answered or tasks finished.
enum RankingOrder {
    /// True when a result scored `score` with tie-breakers `ties` ranks before one scored `otherScore` whose
    /// tie-breakers compare greater (`ties` is evaluated only when the scores are equal).
    @inline(__always)
    static func ranksBefore<Score: Comparable>(
        _ score: Score, _ otherScore: Score, tiesBrokenBy ties: @autoclosure () -> Bool
    ) -> Bool {
        score > otherScore || (score == otherScore && ties())
    }
}
