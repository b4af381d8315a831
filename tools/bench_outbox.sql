-- The database ceiling of the retranslator: per batch, the least the slot design needs — read
-- the oldest events of one slot with an index range scan, then delete them as delivered. No
-- Kafka, no fencing, no ordering work. Client c reads slots c, c + clients, c + 2 * clients, ...
-- in turn (:k counts its batches). pgbench runs it in extended mode (:ids is a parameter).
\set slot :client_id + :clients * (:k % (:slots / :clients))
\set k :k + 1
SELECT coalesce(array_agg(package_event_id), '{}') AS ids
FROM (SELECT package_event_id FROM package_event WHERE slot = :slot
      ORDER BY package_event_id LIMIT :batch) e \gset
DELETE FROM package_event WHERE package_event_id = ANY(:ids::bigint[]);
