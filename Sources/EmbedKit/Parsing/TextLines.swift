/// The lines of UTF-8 text (`\n` line ends), as byte ranges without the `\n`.
struct TextLines {
    let utf8: [UInt8]
    /// `ranges[i]` is line `i + 1`.
    let ranges: [Range<Int>]

    init(_ utf8: [UInt8]) {
        self.utf8 = utf8
        var ranges: [Range<Int>] = []
        var start = 0
        utf8.withUnsafeBufferPointer { buffer in
            for i in 0..<buffer.count where buffer[i] == 0x0A {
                ranges.append(start..<i)
                start = i + 1
            }
        }
        if start < utf8.count { ranges.append(start..<utf8.count) }
        self.ranges = ranges
    }

    var count: Int { ranges.count }

    subscript(index: Int) -> ArraySlice<UInt8> { utf8[ranges[index]] }

    /// True when line `index` holds only spaces and tabs.
    func isBlank(_ index: Int) -> Bool {
        self[index].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0C || $0 == 0x0B }
    }

    /// Lines `first...last` joined by `\n`, as a String (one allocation: they are contiguous in the source).
    func text(_ first: Int, _ last: Int) -> String {
        String(decoding: utf8[ranges[first].lowerBound..<ranges[last].upperBound], as: UTF8.self)
    }
}
