// Node: the running host. Storage, SQL, execution sites; the network shell arrives with the server.
@_exported import VoltModel
