-- Packages and their transactional outbox.
-- Timestamps come from the database clock (now() at commit-time transaction start), never from hosts.

CREATE TABLE package (
  package_id bigserial PRIMARY KEY,
  title      text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 32),
  material   text        NOT NULL CHECK (char_length(material) BETWEEN 1 AND 32),
  -- real: cm³, as the wire contract's float. NaN sorts above Infinity in PostgreSQL, so this
  -- rejects NaN and ±Infinity as well as non-positive values.
  max_volume real        NOT NULL CHECK (max_volume > 0 AND max_volume < 'Infinity'),
  reusable   boolean     NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz,
  -- Number of events written for this package so far; each change bumps it under the row lock,
  -- so it is the per-package sequence number the retranslator puts in a Kafka header.
  event_seq  bigint      NOT NULL DEFAULT 1 CHECK (event_seq >= 1)
);

CREATE TYPE event_type_enum AS ENUM ('Created', 'Updated', 'Removed');
CREATE TYPE event_status_enum AS ENUM ('Unlocked', 'Locked');

-- No foreign key to package: a Removed event outlives the row it describes.
CREATE TABLE package_event (
  package_event_id bigserial         PRIMARY KEY,
  package_id       bigint            NOT NULL CHECK (package_id > 0),
  event_type       event_type_enum   NOT NULL,
  package_seq      bigint            NOT NULL CHECK (package_seq >= 1),
  -- JSON of the package row (ID, Title, Material, MaximumVolume, Reusable, Created, Updated);
  -- none for Removed.
  payload          jsonb             CHECK ((payload IS NULL) = (event_type = 'Removed')),
  created_at       timestamptz       NOT NULL DEFAULT now(),
  -- Claim state for the retranslator: a Locked event carries the lease end (DB clock) and owner.
  event_status     event_status_enum NOT NULL DEFAULT 'Unlocked',
  locked_until     timestamptz,
  locked_by        text,
  -- W3C traceparent of the request that wrote the event, when it was traced.
  traceparent      text,
  CHECK ((event_status = 'Locked') = (locked_until IS NOT NULL AND locked_by IS NOT NULL)),
  UNIQUE (package_id, package_seq)
);
-- The UNIQUE (package_id, package_seq) index also serves "events of one package in order",
-- which the retranslator's claim needs; the primary key serves claiming in commit order.

-- Wake the retranslator on every committed outbox write (delivered at commit, once per statement).
CREATE FUNCTION notify_package_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('package_event', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER package_event_notify
  AFTER INSERT ON package_event
  FOR EACH STATEMENT EXECUTE FUNCTION notify_package_event();
