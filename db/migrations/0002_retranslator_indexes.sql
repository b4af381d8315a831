-- Indexes for the retranslator's lease bookkeeping. Both are partial on Locked rows, so they
-- stay as small as the retranslator's window, whatever the backlog.

-- The claim skips packages that have an event leased right now (order per package).
CREATE INDEX package_event_leased_package ON package_event (package_id)
  WHERE event_status = 'Locked';

-- A dead consumer's events are released by owner.
CREATE INDEX package_event_leased_owner ON package_event (locked_by)
  WHERE event_status = 'Locked';
