-- Sweeps: a run measures each mode at one or more concurrency levels, so a mode's row and its
-- request rows are keyed by (run, mode, concurrency). SQLite cannot change a primary key in
-- place: both tables are rebuilt, the rows of earlier runs taking the single level of their
-- spec (runs.spec_json's "concurrency", a number before this schema).

CREATE TABLE modes_v3 (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    mode        INTEGER NOT NULL REFERENCES mode_names (mode),
    concurrency INTEGER NOT NULL,         -- the level this mode ran at
    position    INTEGER NOT NULL,         -- 0, 1, ...: the order the run ran its (level, mode)s in
    total       INTEGER NOT NULL DEFAULT 0,
    lanes       INTEGER NOT NULL DEFAULT 0,
    done        INTEGER NOT NULL DEFAULT 0,
    started_us  INTEGER,
    finished_us INTEGER,
    result_json TEXT,
    charts_json TEXT,
    PRIMARY KEY (run_id, mode, concurrency)
) WITHOUT ROWID;

INSERT INTO modes_v3 (run_id, mode, concurrency, position, total, lanes, done, started_us,
                      finished_us, result_json, charts_json)
SELECT m.run_id, m.mode,
       coalesce(CAST(json_extract(r.spec_json, '$.concurrency') AS INTEGER), m.lanes, 1),
       m.position, m.total, m.lanes, m.done, m.started_us, m.finished_us, m.result_json,
       m.charts_json
FROM modes m JOIN runs r ON r.id = m.run_id;

CREATE TABLE requests_v3 (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    mode        INTEGER NOT NULL,
    concurrency INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    lane        INTEGER NOT NULL,
    sched_us    INTEGER,
    start_us    INTEGER,
    connect_us  INTEGER,
    ttfb_us     INTEGER,
    end_us      INTEGER,
    status      INTEGER,                   -- HTTP status; NULL when no response
    bytes       INTEGER NOT NULL DEFAULT 0,
    error_kind  INTEGER NOT NULL DEFAULT 0, -- enum req_error; 0 when ok
    error       TEXT,                      -- NULL when ok
    PRIMARY KEY (run_id, mode, concurrency, seq)
) WITHOUT ROWID;

INSERT INTO requests_v3 (run_id, mode, concurrency, seq, lane, sched_us, start_us, connect_us,
                         ttfb_us, end_us, status, bytes, error_kind, error)
SELECT q.run_id, q.mode,
       coalesce(m.concurrency, CAST(json_extract(r.spec_json, '$.concurrency') AS INTEGER), 1),
       q.seq, q.lane, q.sched_us, q.start_us, q.connect_us, q.ttfb_us, q.end_us, q.status, q.bytes,
       q.error_kind, q.error
FROM requests q JOIN runs r ON r.id = q.run_id
LEFT JOIN modes_v3 m ON m.run_id = q.run_id AND m.mode = q.mode;

DROP TABLE requests;
DROP TABLE modes;
ALTER TABLE modes_v3 RENAME TO modes;
ALTER TABLE requests_v3 RENAME TO requests;
