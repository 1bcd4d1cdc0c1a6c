-- The first schema: runs, their modes (one row per mode begun, with its RESULT) and one row per
-- request. Modes and error kinds are stored as the fixed numbers of enum bench_mode (spec.h) and
-- enum req_error (record.h); mode_names spells the modes out for people reading the file.
-- Times: *_us columns of runs and modes are wall-clock µs since the epoch; the times of
-- requests are µs from the mode's start (monotonic clock), NULL where not reached.

CREATE TABLE mode_names (
    mode INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO mode_names (mode, name) VALUES (0, 'sync'), (1, 'threads'), (2, 'async'), (3, 'processes');

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL
                CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
    created_us  INTEGER NOT NULL,
    finished_us INTEGER,
    spec_json   TEXT NOT NULL,
    url         TEXT NOT NULL,            -- spec target.url, for the history filter
    label       TEXT NOT NULL DEFAULT '', -- spec label, for the history filter
    message     TEXT                      -- why it failed or was interrupted
);
CREATE INDEX runs_by_created ON runs (created_us DESC, id DESC);
CREATE INDEX runs_by_url ON runs (url, created_us DESC, id DESC);
CREATE INDEX runs_by_label ON runs (label, created_us DESC, id DESC);

-- done is the number of rows of this mode in requests: both change in one transaction.
CREATE TABLE modes (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    mode        INTEGER NOT NULL REFERENCES mode_names (mode),
    position    INTEGER NOT NULL,         -- 0, 1, ...: the order the run ran its modes in
    total       INTEGER NOT NULL DEFAULT 0,
    lanes       INTEGER NOT NULL DEFAULT 0,
    done        INTEGER NOT NULL DEFAULT 0,
    started_us  INTEGER,
    finished_us INTEGER,
    -- RESULT (result_to_json) once the mode finished
    result_json TEXT,
    PRIMARY KEY (run_id, mode)
) WITHOUT ROWID;

CREATE TABLE requests (
    run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    mode       INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    lane       INTEGER NOT NULL,
    sched_us   INTEGER,
    start_us   INTEGER,
    connect_us INTEGER,
    ttfb_us    INTEGER,
    end_us     INTEGER,
    status     INTEGER,                   -- HTTP status; NULL when no response
    bytes      INTEGER NOT NULL DEFAULT 0,
    error_kind INTEGER NOT NULL DEFAULT 0, -- enum req_error; 0 when ok
    error      TEXT,                      -- NULL when ok
    PRIMARY KEY (run_id, mode, seq)
) WITHOUT ROWID;
