-- Schema of every host of the cluster tests (cluster.py passes it to each host's `voltctl init`).
-- Small on purpose: the cluster tests need a partitioned key-value table they can write unique
-- keys to and read back one partition at a time, and a table whose INTEGER partition keys
-- (from @GetPartitionKeys INTEGER) reach each partition for liveness probes.

-- Unique keys written under load; every key starts with a letter.
CREATE TABLE KV (
    K VARCHAR(64) NOT NULL,
    V VARBINARY(1024),
    PRIMARY KEY (K)
);
PARTITION TABLE KV ON COLUMN K;
CREATE PROCEDURE KV_GET PARTITION ON TABLE KV COLUMN K AS SELECT V FROM KV WHERE K = ?;
-- Every key of one partition, as a single-partition read: called with that partition's
-- @GetPartitionKeys STRING key (digits only, never a KV key the tests write), which routes the
-- call to the partition and excludes no row.
CREATE PROCEDURE KV_KEYS PARTITION ON TABLE KV COLUMN K AS SELECT K FROM KV WHERE K <> ?;

-- Liveness probes: PROBE.upsert(@GetPartitionKeys INTEGER key of partition p, n) is a
-- single-partition write on p, so it succeeds only once p has a leader and every live replica
-- of p takes the write.
CREATE TABLE PROBE (
    ID INTEGER NOT NULL,
    N BIGINT,
    PRIMARY KEY (ID)
);
PARTITION TABLE PROBE ON COLUMN ID;
