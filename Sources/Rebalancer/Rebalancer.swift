// Rebalancer: pure planning of where partitions and token ranges live. No I/O, no clocks.
// The range-move planner is in RangeMoves.swift; executing moves comes with elastic join.
@_exported import VoltModel
