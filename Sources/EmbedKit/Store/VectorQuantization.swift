/// Whether an index's vector file also holds its rows as int8 codes, which a query scans instead of the float32
/// rows (a quarter of the bytes) before re-scoring the few candidates exactly. Recorded in the index
/// (`embed ingest --quantize`); the answers are the same either way.
public enum VectorQuantization: String, Sendable, CaseIterable, Codable {
    /// Codes once the index holds `autoRows` vectors or more: where the vectors stop fitting in memory
    /// comfortably and a scan starts to wait for the disk.
    case auto
    case int8
    case none

    /// The size from which `auto` writes codes.
    public static let autoRows = 1_000_000

    /// Whether a vector file of `rows` live vectors should carry codes.
    public func wantsCodes(rows: Int) -> Bool {
        switch self {
        case .auto: rows >= Self.autoRows
        case .int8: true
        case .none: false
        }
    }
}
