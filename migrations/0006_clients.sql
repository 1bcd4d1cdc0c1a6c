-- Clients (docs/CLIENTS.md): programs run as modes. A client's mode number is 16 + its index
-- among the clients its run's spec names (runs.spec_json "modes", in order), so its name is
-- the spec's; these rows only satisfy the foreign key of modes.mode.
INSERT OR IGNORE INTO mode_names (mode, name) VALUES
    (16, 'client 0'), (17, 'client 1'), (18, 'client 2'), (19, 'client 3'),
    (20, 'client 4'), (21, 'client 5'), (22, 'client 6'), (23, 'client 7');
