-- Records of omp-package-events that package-history cannot apply for good (the value does not
-- decode, a header is missing or malformed, the payload is not JSON): kept here with everything
-- needed to look at them and to send them again, instead of blocking their partition. Retry
-- topics and the dead-letter topic (issue 10, parts 4 and 5) take this role over later.
CREATE TABLE history_rejected (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic           text        NOT NULL,
  kafka_partition integer     NOT NULL,
  kafka_offset    bigint      NOT NULL,
  record_key      bytea,
  record_value    bytea,
  headers         jsonb       NOT NULL, -- [[name, value], ...] in record order; values as text, bytes other than printable ASCII as \ooo
  error           text        NOT NULL, -- why it was rejected
  rejected_at     timestamptz NOT NULL DEFAULT now(),
  -- A record redelivered after a crash is kept once.
  UNIQUE (topic, kafka_partition, kafka_offset)
);

-- history.retention_days prunes history_event by recorded_at: a BRIN index finds the old rows
-- (they are appended in time order) at almost no cost to ingest.
CREATE INDEX history_event_recorded_at ON history_event USING brin (recorded_at);
