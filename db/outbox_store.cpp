#include "db/outbox_store.hpp"

#include <spdlog/spdlog.h>

#include <sstream>

namespace lpa::db {

namespace {

template <class T>
std::string to_pg_array(const std::vector<T>& xs) {
  std::ostringstream out;
  out << '{';
  for (size_t i = 0; i < xs.size(); ++i)
    out << (i == 0 ? "" : ",") << xs[i];
  out << '}';
  return out.str();
}

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count());
}

constexpr const char* event_columns
    = "e.package_event_id, e.package_id, e.slot, e.event_type::text, e.package_seq,"
      " coalesce(e.payload::text, ''), (extract(epoch FROM e.created_at) * 1000000)::int8,"
      " coalesce(e.traceparent, '')";

outbox_event to_event(const pqxx::row& r) {
  return outbox_event{r[0].as<uint64_t>(),    r[1].as<uint64_t>(),   r[2].as<uint32_t>(),
                      r[3].as<std::string>(), r[4].as<uint64_t>(),   r[5].as<std::string>(),
                      r[6].as<int64_t>(),     r[7].as<std::string>()};
}

std::vector<slot_lease> to_leases(const pqxx::result& rows, int slot_col, int epoch_col) {
  std::vector<slot_lease> out;
  for (const auto& r : rows)
    if (!r[slot_col].is_null())
      out.push_back({r[slot_col].as<uint32_t>(), r[epoch_col].as<uint64_t>()});
  return out;
}

} // namespace

class outbox_store::notification_counter : public pqxx::notification_receiver {
public:
  notification_counter(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string&, int) override {}
};

outbox_store::outbox_store(const store_settings& settings) : conn_(connect(settings)) {
  // Plain index scans only: they mark the index entries of deleted events dead on the first
  // visit, so the next reads of a slot skip them. A bitmap scan visits every deleted row in the
  // heap again on each read until vacuum runs, which made reads grow with what was delivered.
  // And a plan for the outbox as it is at each execution: a queue table is empty one minute and
  // holds a million events the next. After five runs PostgreSQL may keep a generic plan for a
  // prepared statement; one made while vacuum had just truncated the empty outbox scans the whole
  // table (per slot, in a read), and is only replaced after the next autovacuum or analyze.
  pqxx::nontransaction{*conn_}.exec0(
      "SET enable_bitmapscan = off; SET plan_cache_mode = force_custom_plan");
  // $1 slots, $2 their cursors, $3 held ids, $4 per-slot limit, $5 limit. The first part finds
  // late commits below the cursors (only rows not held, so it costs what is in flight); the
  // second reads each slot's tail with one index range scan, slots in the order given. Both
  // parts are LATERAL so that each is an index range scan per slot: as a join, the planner
  // does not know the cursors sit at the slots' heads and may scan the whole table.
  conn_->prepare(
      "read",
      std::string{"WITH s AS MATERIALIZED (SELECT * FROM unnest($1::int[], $2::bigint[])"
                  "   WITH ORDINALITY AS s(slot, cursor, ord))"
                  " SELECT "}
          + event_columns
          + " FROM s CROSS JOIN LATERAL (SELECT * FROM package_event e"
            "   WHERE e.slot = s.slot AND e.package_event_id <= s.cursor"
            "   AND NOT EXISTS (SELECT 1 FROM unnest($3::bigint[]) AS h(id)"
            "                   WHERE h.id = e.package_event_id)) e"
            " UNION ALL"
            " (SELECT t.* FROM s CROSS JOIN LATERAL (SELECT "
          + event_columns
          + "   FROM package_event e WHERE e.slot = s.slot AND e.package_event_id > s.cursor"
            "   ORDER BY e.package_event_id LIMIT $4) t"
            "  LIMIT $5)");
  conn_->prepare("delete_delivered",
                 "WITH d AS (SELECT * FROM unnest($2::bigint[], $3::int[], $4::bigint[])"
                 "   AS d(id, slot, epoch)),"
                 " fenced AS (SELECT d.id FROM d JOIN relay_slot s"
                 "   ON s.slot = d.slot AND s.epoch = d.epoch AND s.owner = $1),"
                 " gone AS (DELETE FROM package_event e WHERE e.package_event_id IN ("
                 "   SELECT p.package_event_id FROM package_event p JOIN fenced f"
                 "   ON p.package_event_id = f.id FOR UPDATE OF p SKIP LOCKED)"
                 "   RETURNING extract(epoch FROM now() - e.created_at)::float8 AS age)"
                 " SELECT age FROM gone");
  // The member's own insert is not visible to the statement's count: it counts itself.
  conn_->prepare(
      "heartbeat",
      "WITH me AS (INSERT INTO relay_member (relay, seen_until)"
      "   VALUES ($1, now() + $2 * interval '1 millisecond')"
      "   ON CONFLICT (relay) DO UPDATE SET seen_until = EXCLUDED.seen_until"
      "   RETURNING 1),"
      " held AS (UPDATE relay_slot SET lease_until = now() + $2 * interval '1 millisecond'"
      "   WHERE owner = $1 RETURNING slot, epoch)"
      " SELECT (SELECT count(*) FROM relay_member WHERE seen_until > now()"
      "         AND relay <> $1) + 1,"
      "        (SELECT slot_count FROM relay_settings), held.slot, held.epoch"
      " FROM (SELECT 1) one LEFT JOIN held ON true");
  conn_->prepare("forget_members", "DELETE FROM relay_member WHERE seen_until < now() - interval "
                                   "'1 hour'");
  conn_->prepare("acquire", "UPDATE relay_slot s SET owner = $1, epoch = s.epoch + 1,"
                            " lease_until = now() + $3 * interval '1 millisecond'"
                            " FROM (SELECT slot, owner AS previous FROM relay_slot"
                            "       WHERE owner IS NULL OR lease_until < now()"
                            "       ORDER BY slot LIMIT $2 FOR UPDATE SKIP LOCKED) f"
                            " WHERE s.slot = f.slot"
                            " RETURNING s.slot, s.epoch, coalesce(f.previous <> $1, false)");
  conn_->prepare("release", "UPDATE relay_slot s SET owner = NULL, lease_until = NULL"
                            " FROM unnest($2::int[], $3::bigint[]) AS r(slot, epoch)"
                            " WHERE s.slot = r.slot AND s.epoch = r.epoch AND s.owner = $1");
  conn_->prepare("leave", "WITH free AS (UPDATE relay_slot SET owner = NULL, lease_until = NULL"
                          "   WHERE owner = $1 RETURNING 1)"
                          " DELETE FROM relay_member WHERE relay = $1");
}

outbox_store::~outbox_store() = default;

std::vector<outbox_event> outbox_store::read(const std::vector<slot_cursor>& slots,
                                             const std::vector<uint64_t>& held, size_t per_slot,
                                             size_t limit) {
  if (slots.empty() || limit == 0)
    return {};
  std::vector<uint32_t> numbers;
  std::vector<uint64_t> cursors;
  for (const auto& s : slots) {
    numbers.push_back(s.slot);
    cursors.push_back(s.cursor);
  }
  pqxx::nontransaction tx{*conn_};
  auto rows = tx.exec_prepared("read", to_pg_array(numbers), to_pg_array(cursors),
                               to_pg_array(held), per_slot, limit);
  std::vector<outbox_event> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back(to_event(r));
  return out;
}

delete_result outbox_store::delete_delivered(const std::string& relay,
                                             const std::vector<delivered_event>& events) {
  std::vector<uint64_t> ids, epochs;
  std::vector<uint32_t> slots;
  for (const auto& e : events) {
    ids.push_back(e.id);
    slots.push_back(e.slot);
    epochs.push_back(e.epoch);
  }
  pqxx::nontransaction tx{*conn_};
  auto rows = tx.exec_prepared("delete_delivered", relay, to_pg_array(ids), to_pg_array(slots),
                               to_pg_array(epochs));
  delete_result result;
  result.deleted = rows.size();
  for (const auto& r : rows)
    result.commit_to_delete_seconds.push_back(r[0].as<double>());
  return result;
}

membership outbox_store::heartbeat(const std::string& relay, std::chrono::milliseconds lease) {
  pqxx::work tx{*conn_};
  auto rows = tx.exec_prepared("heartbeat", relay, ms(lease));
  tx.exec_prepared0("forget_members");
  tx.commit();
  membership m;
  m.live_relays = rows[0][0].as<size_t>();
  m.slot_count = rows[0][1].as<size_t>();
  m.held = to_leases(rows, 2, 3);
  return m;
}

acquired_slots outbox_store::acquire(const std::string& relay, size_t count,
                                     std::chrono::milliseconds lease) {
  acquired_slots out;
  if (count == 0)
    return out;
  pqxx::nontransaction tx{*conn_};
  auto rows = tx.exec_prepared("acquire", relay, count, ms(lease));
  out.leases = to_leases(rows, 0, 1);
  for (const auto& r : rows)
    out.taken_over += r[2].as<bool>() ? 1 : 0;
  return out;
}

size_t outbox_store::release(const std::string& relay, const std::vector<slot_lease>& slots) {
  std::vector<uint32_t> numbers;
  std::vector<uint64_t> epochs;
  for (const auto& s : slots) {
    numbers.push_back(s.slot);
    epochs.push_back(s.epoch);
  }
  pqxx::nontransaction tx{*conn_};
  return tx.exec_prepared("release", relay, to_pg_array(numbers), to_pg_array(epochs))
      .affected_rows();
}

void outbox_store::leave(const std::string& relay) {
  pqxx::nontransaction tx{*conn_};
  tx.exec_prepared0("leave", relay);
}

double outbox_store::oldest_event_age_seconds() {
  // Not prepared: a statement without parameters always runs its generic plan, whatever
  // plan_cache_mode says, so it is planned anew on each run instead.
  pqxx::nontransaction tx{*conn_};
  return tx
      .exec1("SELECT coalesce(extract(epoch FROM now() - ("
             " SELECT created_at FROM package_event ORDER BY package_event_id LIMIT 1"
             "))::float8, 0)")[0]
      .as<double>();
}

void outbox_store::listen(const std::string& channel) {
  receiver_ = std::make_unique<notification_counter>(*conn_, channel);
}

int outbox_store::wait_for_notification(std::chrono::milliseconds timeout) {
  auto us = timeout.count() * 1000;
  return conn_->await_notification(us / 1000000, us % 1000000);
}

size_t ensure_slot_count(pqxx::connection& conn, const std::string& relay, size_t wanted) {
  pqxx::work tx{conn};
  auto current = tx.exec1("SELECT slot_count FROM relay_settings FOR UPDATE")[0].as<size_t>();
  if (current == wanted)
    return current;
  auto others = tx.exec_params1("SELECT count(*) FROM relay_member"
                                " WHERE seen_until > now() AND relay <> $1",
                                relay)[0]
                    .as<size_t>();
  if (others > 0) {
    spdlog::warn("retranslator.slots is {} but the database has {}, and {} other retranslator(s) "
                 "are alive: keeping {} (stop them all to change it)",
                 wanted, current, others, current);
    return current;
  }
  spdlog::info("changing the slot count from {} to {}: moving every waiting event to its new slot",
               current, wanted);
  // Writers wait until the new slots are in place; so does nothing else. This may take a while
  // on a large backlog: no statement timeout here.
  tx.exec0("SET LOCAL statement_timeout = 0");
  tx.exec0("LOCK TABLE package_event IN SHARE ROW EXCLUSIVE MODE");
  auto moved = tx.exec_params0("UPDATE package_event SET slot = package_id % $1"
                               " WHERE slot <> package_id % $1",
                               wanted)
                   .affected_rows();
  tx.exec_params0("UPDATE relay_settings SET slot_count = $1", wanted);
  tx.exec_params0("DELETE FROM relay_slot WHERE slot >= $1", wanted);
  tx.exec_params0("INSERT INTO relay_slot (slot) SELECT generate_series(0, $1 - 1)"
                  " ON CONFLICT (slot) DO NOTHING",
                  wanted);
  // Every lease is void: whoever reads a slot next starts from its first event.
  tx.exec0("UPDATE relay_slot SET owner = NULL, lease_until = NULL, epoch = epoch + 1");
  tx.commit();
  spdlog::info("slot count is now {} ({} event(s) moved)", wanted, moved);
  return wanted;
}

} // namespace lpa::db
