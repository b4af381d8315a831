-- The database ceiling of the retranslator: per batch, the least the outbox needs — lease the
-- oldest free events (one commit), then delete them as delivered (another commit). No ordering
-- rules, no Kafka. pgbench runs it in extended mode (:ids is a parameter).
WITH leased AS (
  UPDATE package_event SET event_status = 'Locked', locked_until = now() + interval '30 s',
         locked_by = 'bench-' || :client_id
  WHERE package_event_id IN (SELECT package_event_id FROM package_event
                             WHERE event_status = 'Unlocked'
                             ORDER BY package_event_id LIMIT :batch FOR UPDATE SKIP LOCKED)
  RETURNING package_event_id)
SELECT coalesce(array_agg(package_event_id), '{}') AS ids FROM leased \gset
DELETE FROM package_event WHERE package_event_id = ANY(:ids::bigint[]);
