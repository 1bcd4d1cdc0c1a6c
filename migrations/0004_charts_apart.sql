-- A point's chart aggregates (up to a megabyte each) in a table of their own. In modes, a WITHOUT
-- ROWID table, a seek compares whole records, overflow pages included: every read of a run
-- (GET /api/runs/ID, the history) read every finished point's charts. Measured on an ended run of
-- 100,000 requests: 2.5 ms a request, 390 req/s at 10 connections.
CREATE TABLE charts (
    run_id      TEXT NOT NULL,
    mode        INTEGER NOT NULL,
    concurrency INTEGER NOT NULL,
    charts_json TEXT NOT NULL,
    FOREIGN KEY (run_id, mode, concurrency) REFERENCES modes (run_id, mode, concurrency)
        ON DELETE CASCADE
);
CREATE UNIQUE INDEX charts_of_point ON charts (run_id, mode, concurrency);

INSERT INTO charts (run_id, mode, concurrency, charts_json)
SELECT run_id, mode, concurrency, charts_json FROM modes WHERE charts_json IS NOT NULL;

ALTER TABLE modes DROP COLUMN charts_json;
