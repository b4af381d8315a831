-- The retranslator leases slots, not rows. Every event belongs to slot package_id % slot_count,
-- so all events of a package share one slot; a slot has one owner at a time, which reads it in
-- id order. Per-row leases are gone.

-- The number of slots, one row. Every process reads it from here so that all agree; a
-- retranslator started with another `retranslator.slots` changes it only while no other
-- retranslator is alive (see db/outbox_store.cpp, ensure_slot_count).
CREATE TABLE relay_settings (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  slot_count integer NOT NULL CHECK (slot_count BETWEEN 1 AND 65536)
);
INSERT INTO relay_settings (slot_count) VALUES (256);

-- Slot leases on the database clock. `epoch` grows with every acquisition: the cleaner deletes
-- only while the slot still has the owner and epoch it had when the events were read, so a
-- stale owner's deletes are no-ops (fencing).
CREATE TABLE relay_slot (
  slot        integer     PRIMARY KEY CHECK (slot >= 0),
  owner       text,
  epoch       bigint      NOT NULL DEFAULT 0,
  lease_until timestamptz,
  CHECK ((owner IS NULL) = (lease_until IS NULL))
);
INSERT INTO relay_slot (slot) SELECT generate_series(0, 255);

-- Live retranslators (heartbeats on the database clock): each takes about slot_count / live.
CREATE TABLE relay_member (
  relay      text        PRIMARY KEY,
  seen_until timestamptz NOT NULL,
  joined_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE package_event ADD COLUMN slot integer;
UPDATE package_event SET slot = package_id % 256;
ALTER TABLE package_event ALTER COLUMN slot SET NOT NULL;

-- Set on every insert, whatever the writer: no writer can forget it (an event without a slot
-- would never be read).
CREATE FUNCTION package_event_slot() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT NEW.package_id % slot_count INTO NEW.slot FROM relay_settings;
  RETURN NEW;
END;
$$;

CREATE TRIGGER package_event_slot
  BEFORE INSERT ON package_event
  FOR EACH ROW EXECUTE FUNCTION package_event_slot();

-- A slot's owner reads its events in id order: one index range scan per slot.
CREATE INDEX package_event_slot_order ON package_event (slot, package_event_id);

-- The row leases of 0001/0002 are replaced by slot leases.
DROP INDEX package_event_leased_package;
DROP INDEX package_event_leased_owner;
ALTER TABLE package_event DROP COLUMN event_status, DROP COLUMN locked_until,
  DROP COLUMN locked_by;
DROP TYPE event_status_enum;

-- A queue table: rows are deleted as fast as they come. Vacuum it early and often so dead rows
-- do not pile up in front of the readers.
ALTER TABLE package_event SET (autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0.01);
