import ArgumentParser

/// The raw values of `T`'s cases, for completing an option whose value is one of them (`--mode`, `--format`,
/// `--encoding`): `completion: .list(rawValues(SearchMode.self))`.
func rawValues<T: CaseIterable & RawRepresentable>(_: T.Type) -> [String] where T.RawValue == String {
    T.allCases.map(\.rawValue)
}

/// Parses an option whose values are the cases of `T`, naming them when the value is none.
func choice<T: RawRepresentable & CaseIterable & SendableMetatype>(_ name: String) -> @Sendable (String) throws -> T
where T.RawValue == String {
    { value in
        guard let found = T(rawValue: value) else {
            throw ValidationError("\(name) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")); not '\(value)'.")
        }
        return found
    }
}
