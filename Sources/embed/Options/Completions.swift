/// The raw values of `T`'s cases, for completing an option whose value is one of them (`--mode`, `--format`,
/// `--encoding`): `completion: .list(rawValues(SearchMode.self))`.
func rawValues<T: CaseIterable & RawRepresentable>(_: T.Type) -> [String] where T.RawValue == String {
    T.allCases.map(\.rawValue)
}
