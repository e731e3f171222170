/// The one shape of every error this package throws: a `code` to branch on, a `message` for the user that
/// says what happened and what to do, and the lower-level error it came from, if any.
///
/// A protocol, not a base class: each error stays a plain value of its own type, so `catch let error as
/// StoreError` keeps working and `throws(StoreError)` stays possible.
public protocol CodedError: Error, CustomStringConvertible {
    associatedtype Code: Hashable & Sendable
    var code: Code { get }
    /// What happened and what to do about it; printed as is.
    var message: String { get }
    /// The error this one reports (a system call's, the transport's, the model loader's...), for logs and
    /// for callers that need the detail; never part of ``message``.
    var cause: (any Error)? { get }
}

extension CodedError {
    public var description: String { message }
}
