-- Steady writes for the retranslator benchmark: one event per transaction, as the API commits
-- them, for packages drawn from a Zipf distribution (a few hot packages, a long tail of quiet
-- ones). pgbench paces it with -R; bench_seq keeps (package, seq) unique.
\set p random_zipfian(1, 100000, 1.05)
INSERT INTO package_event (package_id, event_type, package_seq, payload)
VALUES (:p, 'Updated', nextval('bench_seq'),
        jsonb_build_object('ID', :p::bigint, 'Title', 'bench-' || :p::text,
                           'Material', 'cardboard', 'MaximumVolume', 1500.5, 'Reusable', true,
                           'Created', now(), 'Updated', now()));
