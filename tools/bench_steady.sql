-- Steady writes for the retranslator benchmark: 10 events per transaction (one commit per event
-- is bound by fsync on small machines, ~1,000/s here, whoever writes), for packages drawn with a
-- strong skew (a few hot packages, a long tail of quiet ones). pgbench paces it with -R;
-- bench_seq keeps (package, seq) unique.
INSERT INTO package_event (package_id, event_type, package_seq, payload)
SELECT p, 'Updated', nextval('bench_seq'),
       jsonb_build_object('ID', p, 'Title', 'bench-' || p, 'Material', 'cardboard',
                          'MaximumVolume', 1500.5, 'Reusable', true, 'Created', now(),
                          'Updated', now())
FROM (SELECT 1 + floor(100000 * power(random(), 4))::bigint AS p FROM generate_series(1, 10)) r;
