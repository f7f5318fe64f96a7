-- Schema every interop test server is initialized with (conftest.py passes it to
-- `voltctl init --schema`). Each test owns its rows by a unique key prefix or owns a table
-- outright, so tests can share one server per module without cleaning up after each other.

-- VoltDB's hello-world example, with its two procedures. Mixed-case procedure names: the client
-- looks procedures up case-sensitively in @SystemCatalog PROCEDURES, so the server must keep
-- their spelling.
CREATE TABLE HELLOWORLD (
    HELLO VARCHAR(15),
    WORLD VARCHAR(15),
    DIALECT VARCHAR(64) NOT NULL,
    PRIMARY KEY (DIALECT)
);
PARTITION TABLE HELLOWORLD ON COLUMN DIALECT;
CREATE PROCEDURE HelloInsert PARTITION ON TABLE HELLOWORLD COLUMN DIALECT PARAMETER 2
    AS INSERT INTO HELLOWORLD (HELLO, WORLD, DIALECT) VALUES (?, ?, ?);
CREATE PROCEDURE HelloSelect PARTITION ON TABLE HELLOWORLD COLUMN DIALECT
    AS SELECT HELLO, WORLD FROM HELLOWORLD WHERE DIALECT = ?;

-- A partitioned key-value table (VARCHAR partition key) and a user procedure on it.
CREATE TABLE KV (
    K VARCHAR(64) NOT NULL,
    V VARBINARY(1024),
    PRIMARY KEY (K)
);
PARTITION TABLE KV ON COLUMN K;
CREATE PROCEDURE KV_GET PARTITION ON TABLE KV COLUMN K AS SELECT V FROM KV WHERE K = ?;

-- A table partitioned on an INTEGER column, and a procedure partitioned on its first parameter
-- that counts the rows of whichever partition runs it: `call_all_partitions` prepends a partition
-- key and names the destination partition, so each leg reports its own partition's count. The
-- test rows have ids >= 1000000, far above the keys @GetPartitionKeys hands out, so `ID <> ?`
-- never excludes a row.
CREATE TABLE PCOUNT (
    ID INTEGER NOT NULL,
    NOTE VARCHAR(32),
    PRIMARY KEY (ID)
);
PARTITION TABLE PCOUNT ON COLUMN ID;
CREATE PROCEDURE PCOUNT_HERE PARTITION ON TABLE PCOUNT COLUMN ID
    AS SELECT COUNT(*) FROM PCOUNT WHERE ID <> ?;

-- A replicated table, with a multi-partition user procedure.
CREATE TABLE REGIONS (
    ID INTEGER NOT NULL,
    NAME VARCHAR(64) NOT NULL,
    PRIMARY KEY (ID)
);
CREATE PROCEDURE REGION_NAME AS SELECT NAME FROM REGIONS WHERE ID = ?;

-- Bulk-loader targets: one partitioned (BIGINT key), one replicated.
CREATE TABLE BULK_P (
    ID BIGINT NOT NULL,
    NAME VARCHAR(32),
    AMOUNT FLOAT,
    PRIMARY KEY (ID)
);
PARTITION TABLE BULK_P ON COLUMN ID;
CREATE TABLE BULK_R (
    ID BIGINT NOT NULL,
    NAME VARCHAR(32),
    PRIMARY KEY (ID)
);

-- Large answers for the client that never reads them (test_bad_input.py), two ways: BLOB_GET
-- answers one row's VARBINARY of up to 1 MiB (cheap to produce); BIG_FROM(0) answers every row of
-- the partition that key 0 hashes to, about 2,000 rows of 250 bytes (each answer built row by row).
CREATE TABLE BLOBS (
    ID INTEGER NOT NULL,
    DATA VARBINARY(1048576),
    PRIMARY KEY (ID)
);
PARTITION TABLE BLOBS ON COLUMN ID;
CREATE PROCEDURE BLOB_GET PARTITION ON TABLE BLOBS COLUMN ID AS SELECT DATA FROM BLOBS WHERE ID = ?;
CREATE TABLE BIG (
    ID INTEGER NOT NULL,
    PAD VARCHAR(250),
    PRIMARY KEY (ID)
);
PARTITION TABLE BIG ON COLUMN ID;
CREATE PROCEDURE BIG_FROM PARTITION ON TABLE BIG COLUMN ID AS SELECT ID, PAD FROM BIG WHERE ID >= ?;
