-- Shards (the contract's "Shards: one run over many machines"): a run coordinated by the
-- dashboard waits for its shards ('waiting') and ends 'partial' when a shard died, never joined
-- or was off the clock, keeping what arrived. runs.status's CHECK gains both: SQLite cannot
-- change a CHECK in place, so runs is rebuilt the documented way (a new table, the rows copied,
-- the old one dropped, the new one renamed). store_open runs migrations with foreign keys off
-- (PRAGMA foreign_keys is a no-op inside a transaction), so dropping the old runs deletes none
-- of the modes and requests that refer to it by name, and checks them all afterwards
-- (PRAGMA foreign_key_check) before turning foreign keys on.

CREATE TABLE runs_v7 (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL
                CHECK (status IN ('queued', 'waiting', 'running', 'done', 'partial', 'failed',
                                  'cancelled', 'interrupted')),
    created_us  INTEGER NOT NULL,
    finished_us INTEGER,
    spec_json   TEXT NOT NULL,
    url         TEXT NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    message     TEXT
);
INSERT INTO runs_v7 (id, status, created_us, finished_us, spec_json, url, label, message)
SELECT id, status, created_us, finished_us, spec_json, url, label, message FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v7 RENAME TO runs;
CREATE INDEX runs_by_created ON runs (created_us DESC, id DESC);
CREATE INDEX runs_by_url ON runs (url, created_us DESC, id DESC);
CREATE INDEX runs_by_label ON runs (label, created_us DESC, id DESC);

-- The shards of a coordinated run: one row per shard from the run's creation.
CREATE TABLE run_shards (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    shard      INTEGER NOT NULL,
    status     TEXT NOT NULL
               CHECK (status IN ('waiting', 'joined', 'running', 'done', 'failed')),
    joined_us  INTEGER,             -- wall-clock µs of its join
    skew_ms    REAL,                -- its clock − the dashboard's, at the latest barrier
    rps        REAL,                -- its ok requests per second, over the points it finished
    errors     INTEGER NOT NULL DEFAULT 0,
    cpu_ms     REAL NOT NULL DEFAULT 0, -- its user + system CPU
    message    TEXT,                -- why it failed
    PRIMARY KEY (run_id, shard)
) WITHOUT ROWID;
