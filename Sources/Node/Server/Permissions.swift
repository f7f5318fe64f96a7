// What a logged-in user may do, from the roles deployment.xml gives them (VoltDB's built-in
// roles). With security disabled everyone may do everything, as in VoltDB.
//
//   administrator  everything: DDL, @Pause/@Resume/@Shutdown, all procedures, ad hoc SQL
//   user           ad hoc DML and queries, every stored and default procedure, the bulk loaders
//   other roles    nothing beyond the read-only system procedures: roles with their own
//                  permissions (CREATE ROLE ... WITH ...) are not supported yet
//
// Read-only system procedures (@Ping, @SystemInformation, @Statistics, @SystemCatalog,
// @GetPartitionKeys, @Subscribe) need no permission: the clients call them to discover the
// cluster. A refusal is UNEXPECTED_FAILURE naming the user and the permission, as VoltDB does.

import VoltModel

struct Permissions: OptionSet, Sendable {
    let rawValue: UInt8
    /// Schema changes and cluster operations.
    static let admin = Permissions(rawValue: 1 << 0)
    /// Ad hoc DML and queries.
    static let sql = Permissions(rawValue: 1 << 1)
    /// Default CRUD procedures and the bulk loaders.
    static let defaultProcedures = Permissions(rawValue: 1 << 2)
    /// Stored procedures.
    static let allProcedures = Permissions(rawValue: 1 << 3)
    static let everything: Permissions = [.admin, .sql, .defaultProcedures, .allProcedures]

    static func of(roles: [String]) -> Permissions {
        var p: Permissions = []
        for role in roles {
            switch role.lowercased() {
            case "administrator": p.formUnion(.everything)
            case "user": p.formUnion([.sql, .defaultProcedures, .allProcedures])
            default: break
            }
        }
        return p
    }

    var names: String {
        [(Permissions.admin, "admin"), (.sql, "sql"), (.defaultProcedures, "defaultproc"), (.allProcedures, "allproc")]
            .filter { contains($0.0) }.map(\.1).joined(separator: ", ")
    }

    /// The refusal when `user` lacks `needed` for `what`.
    static func refusal(user: String, needed: Permissions, what: String) -> InvocationResult {
        InvocationResult(status: .unexpectedFailure,
                         statusString: "User \(user) does not have \(needed.names) permission to run \(what)")
    }
}

extension Host {
    /// The permissions of a user who has just logged in.
    func permissions(of user: String) -> Permissions {
        let deployment = root.deployment
        guard deployment.security.enabled else { return .everything }
        guard let entry = deployment.users.first(where: { $0.name == user }) else { return [] }
        return Permissions.of(roles: entry.roles)
    }
}
