-- Schema of the elastic join tests: the cluster tests' tables plus a replicated table, whose rows
-- every new partition must receive before any range moves.
CREATE TABLE KV (
    K VARCHAR(64) NOT NULL,
    V VARBINARY(1024),
    PRIMARY KEY (K)
);
PARTITION TABLE KV ON COLUMN K;
CREATE PROCEDURE KV_GET PARTITION ON TABLE KV COLUMN K AS SELECT V FROM KV WHERE K = ?;
CREATE PROCEDURE KV_KEYS PARTITION ON TABLE KV COLUMN K AS SELECT K FROM KV WHERE K <> ?;

CREATE TABLE PROBE (
    ID INTEGER NOT NULL,
    N BIGINT,
    PRIMARY KEY (ID)
);
PARTITION TABLE PROBE ON COLUMN ID;

-- Replicated: every partition holds all of its rows.
CREATE TABLE REF (
    ID INTEGER NOT NULL,
    NAME VARCHAR(32),
    PRIMARY KEY (ID)
);
-- A row count read from one partition of the caller's choice (single-partition, routed by the
-- @GetPartitionKeys INTEGER key of that partition): proves that partition holds the replicated rows.
CREATE PROCEDURE REF_COUNT_AT PARTITION ON TABLE PROBE COLUMN ID AS SELECT COUNT(*) FROM REF WHERE ? IS NOT NULL;
