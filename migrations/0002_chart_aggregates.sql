-- Chart aggregates (histogram, CDF, throughput, sampled timeline) computed once when a mode
-- finishes, so that the dashboard never scans a million rows to draw a run. Modes finished
-- under 0001 have none; store_charts computes theirs on first use.
ALTER TABLE modes ADD COLUMN charts_json TEXT;

-- store_mark_interrupted looks for runs left queued or running at every start.
CREATE INDEX runs_by_status ON runs (status) WHERE status IN ('queued', 'running');
