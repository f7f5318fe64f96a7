// What reading deployment.xml can report: errors that stop it, warnings that do not.
//
// Messages name the file, then the element as a path of tags (`<commandlog><frequency>`), then
// the attribute and the offending value, then what is allowed, so that an operator can find the
// line and fix it without reading the schema. Unknown elements and attributes are warnings, not
// errors (operators bring their files, which may carry settings for features this
// server does not have); values that are present but wrong are errors, because guessing what a
// mistyped value meant would run the cluster with a configuration nobody wrote.

/// An element's position in the document, as the names from the root's child down to it.
/// `["commandlog", "frequency"]` renders as `<commandlog><frequency>`.
public typealias ElementPath = [String]

func renderTagPath(_ path: ElementPath, attribute: String? = nil, value: String? = nil) -> String {
    guard let last = path.last else { return "<deployment>" }
    var text = path.dropLast().map { "<\($0)>" }.joined() + "<" + last
    if let attribute {
        text += " \(attribute)"
        if let value { text += "=\"\(value)\"" }
    }
    return text + ">"
}

/// A deployment file that cannot be used, and why.
public struct DeploymentError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// The file could not be read.
        case unreadable(reason: String)
        /// The text is not well-formed XML.
        case malformedXML(line: Int, column: Int, reason: String)
        /// The document's root is not `<deployment>`, or there is none.
        case wrongRootElement(found: String?)
        /// An attribute's value is outside what the setting allows.
        case invalidValue(path: ElementPath, attribute: String, value: String, allowed: String)
        /// A required attribute is missing.
        case missingAttribute(path: ElementPath, attribute: String)
        /// An element that may appear once appears again.
        case duplicateElement(path: ElementPath)
        /// `<security enabled="true">` with no `<user>`.
        case securityWithoutUsers
        /// `<security enabled="true">` with users, none of them in the administrator role.
        case securityWithoutAdministrator
        /// Two `<user>` elements with the same name.
        case duplicateUser(name: String)
        /// Two managed paths that resolve to the same directory.
        case duplicatePath(first: String, second: String, path: String)
        /// A relative managed path that names a directory the root directory reserves.
        case reservedPath(element: String, path: String)
    }

    /// The file's name as the operator gave it, e.g. `deployment.xml`.
    public var file: String
    public var problem: Problem
    /// The line of the offending element, when known.
    public var line: Int?

    public init(file: String, problem: Problem, line: Int? = nil) {
        self.file = file
        self.problem = problem
        self.line = line
    }

    public var description: String { "\(file): \(problemDescription)" }

    var problemDescription: String {
        switch problem {
        case .unreadable(let reason):
            return "cannot read the file: \(reason)"
        case .malformedXML(let line, let column, let reason):
            return "line \(line), column \(column): malformed XML: \(reason)"
        case .wrongRootElement(let found?):
            return "the root element must be <deployment>, not <\(found)>"
        case .wrongRootElement(nil):
            return "the file has no root element; it must hold a <deployment> element"
        case .invalidValue(let path, let attribute, let value, let allowed):
            return "\(renderTagPath(path, attribute: attribute, value: value)): \(attribute) must be \(allowed)"
        case .missingAttribute(let path, let attribute):
            return "\(renderTagPath(path)): the attribute \(attribute) is required"
        case .duplicateElement(let path):
            return "\(renderTagPath(path)) appears more than once; it may appear only once"
        case .securityWithoutUsers:
            return "<security enabled=\"true\"> needs at least one <user> in <users>, "
                + "one of them with roles=\"administrator\""
        case .securityWithoutAdministrator:
            return "<security enabled=\"true\"> needs at least one <user> with roles=\"administrator\""
        case .duplicateUser(let name):
            return "<users><user name=\"\(name)\">: the user \(name) is defined more than once"
        case .duplicatePath(let first, let second, let path):
            return "<paths>: <\(first)> and <\(second)> both use \"\(path)\"; every managed path must be distinct"
        case .reservedPath(let element, let path):
            return "<paths><\(element) path=\"\(path)\">: \"\(path)\" is reserved for the root directory's own use; "
                + "choose another directory"
        }
    }
}

/// Something in a deployment file that was ignored; the file is still usable.
public struct DeploymentWarning: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// An element that neither VoltDB's schema nor this server knows.
        case unknownElement(path: ElementPath)
        /// An attribute that neither VoltDB's schema nor this server knows.
        case unknownAttribute(path: ElementPath, attribute: String)
        /// A VoltDB element for a feature this server does not have.
        case unsupportedElement(path: ElementPath)
        /// A VoltDB attribute or element this server reads but deliberately ignores.
        case ignored(path: ElementPath, attribute: String?, value: String?, reason: String)
        /// Text inside an element that takes none.
        case unexpectedText(path: ElementPath)
    }

    public var file: String
    public var kind: Kind
    /// The line of the element concerned.
    public var line: Int

    public init(file: String, kind: Kind, line: Int) {
        self.file = file
        self.kind = kind
        self.line = line
    }

    public var description: String {
        switch kind {
        case .unknownElement(let path):
            return "\(file): unknown element \(renderTagPath(path)) ignored"
        case .unknownAttribute(let path, let attribute):
            return "\(file): unknown attribute \(attribute) of \(renderTagPath(path)) ignored"
        case .unsupportedElement(let path):
            return "\(file): \(renderTagPath(path)) is not supported by this server and is ignored"
        case .ignored(let path, let attribute, let value, let reason):
            return "\(file): \(renderTagPath(path, attribute: attribute, value: value)) ignored: \(reason)"
        case .unexpectedText(let path):
            return "\(file): text inside \(renderTagPath(path)) ignored"
        }
    }
}
