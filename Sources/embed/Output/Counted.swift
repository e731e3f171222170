/// `1 file`, `2 files`: a count with its noun in the right number, digits grouped past 9,999 (`12,045 chunks`).
func counted(_ count: Int, _ singular: String, plural: String? = nil) -> String {
    let noun = count == 1 ? singular : plural ?? singular + "s"
    return "\(grouped(count)) \(noun)"
}

/// Digits in groups of three past 9,999, as people write them.
func grouped(_ number: Int) -> String {
    let digits = String(number.magnitude)
    guard digits.count > 4 else { return number < 0 ? "-" + digits : digits }
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(digit)
    }
    return number < 0 ? "-" + out : out
}
