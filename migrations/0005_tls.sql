-- TLS and HTTP/2: each request's TLS phase, whether it reused a connection, the HTTP version
-- that answered and, for h2mux, the connection its stream went over (all NULL for runs stored
-- before, and where not reached); the fifth mode's name.
ALTER TABLE requests ADD COLUMN tls_us INTEGER;       -- offset like connect_us
ALTER TABLE requests ADD COLUMN reused INTEGER;       -- 1 reused, 0 opened a connection
ALTER TABLE requests ADD COLUMN http_version INTEGER; -- 10, 11, 20, 30
ALTER TABLE requests ADD COLUMN conn INTEGER;         -- h2mux: the connection 0..K-1

INSERT INTO mode_names (mode, name) VALUES (4, 'h2mux');
