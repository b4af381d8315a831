-- pgbench script: the database ceiling of package-history's ingest. One transaction writes what a
-- writer's batch writes: 500 history_event rows (ON CONFLICT DO NOTHING) and their packages'
-- states (the conditional upsert), payloads the size of the API's.
\set base random(1, 1000000000)
INSERT INTO history_event (package_id, event_id, package_seq, event_type, created_at, payload,
                           traceparent, kafka_partition, kafka_offset)
SELECT (:base + i) % 1000000 + 1, :base::bigint * 1000 + i, 1, 'Created', now(),
       jsonb_build_object('ID', i, 'Title', 'bench-' || i, 'Material', 'cardboard',
                          'MaximumVolume', 1500.5, 'Reusable', true, 'Created', now(),
                          'Updated', NULL),
       NULL, 0, i
FROM generate_series(1, 500) i
ON CONFLICT DO NOTHING;
INSERT INTO package_state AS s (package_id, applied_seq, event_id, event_type, payload, updated_at)
SELECT (:base + i) % 1000000 + 1, 1, :base::bigint * 1000 + i, 'Created',
       jsonb_build_object('ID', i, 'Title', 'bench-' || i), now()
FROM generate_series(1, 500) i
ON CONFLICT (package_id) DO UPDATE SET applied_seq = excluded.applied_seq,
  event_id = excluded.event_id, event_type = excluded.event_type, payload = excluded.payload,
  updated_at = excluded.updated_at
WHERE s.applied_seq < excluded.applied_seq;
