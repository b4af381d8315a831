-- The ceiling for the API's Create: the exact transaction the API commits (db/package_store.cpp,
-- create_sql), run by pgbench straight against PostgreSQL with no gRPC and no actors.
WITH p AS (INSERT INTO package (title, material, max_volume, reusable)
           VALUES ('bench-' || :client_id, 'cardboard', 1500.5, true) RETURNING *)
INSERT INTO package_event (package_id, event_type, package_seq, payload, traceparent)
SELECT package_id, 'Created', event_seq,
       jsonb_build_object('ID', package_id, 'Title', title, 'Material', material,
                          'MaximumVolume', max_volume, 'Reusable', reusable,
                          'Created', created_at, 'Updated', updated_at),
       NULL
FROM p RETURNING package_id;
