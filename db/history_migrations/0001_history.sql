-- package-history's own database (package_history): the history of every package, fed by the
-- omp-package-events topic. Tables are hash-partitioned by package id so they can grow to billions
-- of rows; every query names a package id, so it touches one partition.

-- Every event of every package, recorded once. event_id is the outbox's package_event_id (Kafka
-- header event-id): the primary key deduplicates across batches and instances (ON CONFLICT DO
-- NOTHING). It holds the partition key, as PostgreSQL requires of a partitioned table's keys.
CREATE TABLE history_event (
  package_id      bigint      NOT NULL CHECK (package_id > 0),
  event_id        bigint      NOT NULL CHECK (event_id > 0),
  package_seq     bigint      NOT NULL CHECK (package_seq >= 1), -- Kafka header package-seq
  event_type      text        NOT NULL CHECK (event_type IN ('Created', 'Updated', 'Removed')),
  created_at      timestamptz NOT NULL, -- committed by the API (PackageEvent.Created)
  payload         jsonb,                -- the package row as JSON; NULL for Removed
  traceparent     text,                 -- W3C traceparent of the request that wrote the event
  kafka_partition integer     NOT NULL,
  kafka_offset    bigint      NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (package_id, event_id)
) PARTITION BY HASH (package_id);

-- A package's events in order: ListPackageEventsV1 pages through it, GetPackageAtV1 reads its tail.
CREATE INDEX history_event_package_seq ON history_event (package_id, package_seq, event_id);

-- The current state of each package: the event with the highest package_seq applied so far. An
-- older event (a reorder or a late duplicate) is recorded in history_event but does not
-- overwrite it.
CREATE TABLE package_state (
  package_id  bigint      NOT NULL CHECK (package_id > 0),
  applied_seq bigint      NOT NULL CHECK (applied_seq >= 1),
  event_id    bigint      NOT NULL,
  event_type  text        NOT NULL CHECK (event_type IN ('Created', 'Updated', 'Removed')),
  payload     jsonb,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (package_id)
) PARTITION BY HASH (package_id);

DO $$
BEGIN
  FOR i IN 0..15 LOOP
    EXECUTE format('CREATE TABLE history_event_p%s PARTITION OF history_event '
                   'FOR VALUES WITH (MODULUS 16, REMAINDER %s)', i, i);
    EXECUTE format('CREATE TABLE package_state_p%s PARTITION OF package_state '
                   'FOR VALUES WITH (MODULUS 16, REMAINDER %s)', i, i);
  END LOOP;
END;
$$;
