/// Vectors held row-major in one contiguous array, with the id of each row.
public struct VectorMatrix: Sendable {
    public let dimension: Int
    public let ids: [Int64]
    public let values: [Float]

    public init(dimension: Int, ids: [Int64], values: [Float]) {
        precondition(values.count == ids.count * dimension, "values must hold one row of `dimension` per id")
        self.dimension = dimension
        self.ids = ids
        self.values = values
    }

    public var count: Int { ids.count }
}
