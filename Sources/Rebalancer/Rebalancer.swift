// Rebalancer: pure planning of where partitions and token ranges live. No I/O, no clocks.
// The move planner arrives with the ring (HashRing+Moves.swift); execution comes with elastic join.
@_exported import VoltModel
