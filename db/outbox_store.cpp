#include "db/outbox_store.hpp"

#include <algorithm>
#include <map>
#include <sstream>

namespace lpa::db {

namespace {

// All claims, of every process, take this transaction lock: the per-package rules of claim()
// then see every earlier claim committed.
constexpr long long claim_lock_key = 0x6c70615f636c6d; // "lpa_clm"

std::string to_pg_array(const std::vector<uint64_t>& xs) {
  std::ostringstream out;
  out << '{';
  for (size_t i = 0; i < xs.size(); ++i)
    out << (i == 0 ? "" : ",") << xs[i];
  out << '}';
  return out.str();
}

std::string to_pg_text_array(const std::vector<std::string>& xs) {
  std::string out = "{";
  for (size_t i = 0; i < xs.size(); ++i) {
    out += i == 0 ? "\"" : ",\"";
    for (char ch : xs[i]) {
      if (ch == '"' || ch == '\\')
        out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

std::string lease_ms(std::chrono::milliseconds lease) {
  return std::to_string(lease.count());
}

// Of the candidate ids, per package, the gap-free run that starts at the package's oldest
// event in the table (`table` lists each candidate package's ids up to the largest candidate).
std::vector<uint64_t> head_runs(const std::map<uint64_t, std::vector<uint64_t>>& candidates,
                                const std::map<uint64_t, std::vector<uint64_t>>& table) {
  std::vector<uint64_t> kept;
  for (const auto& [package, ids] : candidates) {
    const auto& all = table.at(package);
    for (size_t i = 0; i < ids.size() && i < all.size() && ids[i] == all[i]; ++i)
      kept.push_back(ids[i]);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

} // namespace

class outbox_store::notification_counter : public pqxx::notification_receiver {
public:
  notification_counter(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string&, int) override {}
};

outbox_store::outbox_store(const store_settings& settings) : conn_(connect(settings)) {
  conn_->prepare("claim_candidates",
                 "SELECT e.package_event_id, e.package_id FROM package_event e"
                 " WHERE (e.event_status = 'Unlocked' OR e.locked_until < now())"
                 "   AND NOT EXISTS (SELECT 1 FROM package_event b"
                 "                   WHERE b.package_id = e.package_id"
                 "                     AND b.event_status = 'Locked'"
                 "                     AND b.locked_until >= now())"
                 " ORDER BY e.package_event_id LIMIT $1"
                 " FOR UPDATE OF e SKIP LOCKED");
  conn_->prepare("claim_package_ids",
                 "SELECT package_id, package_event_id FROM package_event"
                 " WHERE package_id = ANY($1::bigint[]) AND package_event_id <= $2"
                 " ORDER BY package_id, package_event_id");
  conn_->prepare("claim_lease",
                 "UPDATE package_event SET event_status = 'Locked',"
                 " locked_until = now() + $3 * interval '1 millisecond', locked_by = $2"
                 " WHERE package_event_id = ANY($1::bigint[])"
                 " RETURNING package_event_id, package_id, event_type::text, package_seq,"
                 " coalesce(payload::text, ''),"
                 " (extract(epoch FROM created_at) * 1000000)::int8, coalesce(traceparent, '')");
  // Rows the cleaner is deleting or releasing right now are skipped, not waited for: waiting
  // in another order than the cleaner's statement could deadlock, and they are about to go.
  conn_->prepare("renew",
                 "UPDATE package_event SET locked_until = now() + $3 * interval '1 millisecond'"
                 " WHERE package_event_id IN ("
                 "   SELECT package_event_id FROM package_event"
                 "   WHERE package_event_id = ANY($1::bigint[]) AND locked_by = $2"
                 "     AND event_status = 'Locked'"
                 "   FOR UPDATE SKIP LOCKED)");
  conn_->prepare("clean", "WITH done AS ("
                          "  DELETE FROM package_event e"
                          "  USING unnest($1::bigint[], $2::text[]) AS d(id, owner)"
                          "  WHERE e.package_event_id = d.id AND e.locked_by = d.owner"
                          "  RETURNING extract(epoch FROM now() - e.created_at)::float8 AS age),"
                          " back AS ("
                          "  UPDATE package_event e SET event_status = 'Unlocked',"
                          "   locked_until = NULL, locked_by = NULL"
                          "  FROM unnest($3::bigint[], $4::text[]) AS r(id, owner)"
                          "  WHERE e.package_event_id = r.id AND e.locked_by = r.owner"
                          "  RETURNING 1)"
                          " SELECT 'deleted', age FROM done"
                          " UNION ALL SELECT 'released', count(*)::float8 FROM back");
  conn_->prepare("release_owner",
                 "UPDATE package_event SET event_status = 'Unlocked', locked_until = NULL,"
                 " locked_by = NULL WHERE locked_by = $1 AND event_status = 'Locked'");
  conn_->prepare("oldest_age",
                 "SELECT coalesce(extract(epoch FROM now() - ("
                 " SELECT created_at FROM package_event ORDER BY package_event_id LIMIT 1"
                 "))::float8, 0)");
}

outbox_store::~outbox_store() = default;

std::vector<outbox_event> outbox_store::claim(const std::string& owner, size_t limit,
                                              std::chrono::milliseconds lease) {
  pqxx::work tx{*conn_};
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(claim_lock_key) + ")");
  auto rows = tx.exec_prepared("claim_candidates", limit);
  if (rows.empty())
    return {};
  std::map<uint64_t, std::vector<uint64_t>> candidates;
  uint64_t max_id = 0;
  for (const auto& r : rows) {
    auto id = r[0].as<uint64_t>();
    candidates[r[1].as<uint64_t>()].push_back(id);
    max_id = std::max(max_id, id);
  }
  std::vector<uint64_t> packages;
  for (const auto& entry : candidates)
    packages.push_back(entry.first);
  std::map<uint64_t, std::vector<uint64_t>> table;
  for (const auto& r : tx.exec_prepared("claim_package_ids", to_pg_array(packages), max_id))
    table[r[0].as<uint64_t>()].push_back(r[1].as<uint64_t>());
  auto kept = head_runs(candidates, table);
  std::vector<outbox_event> out;
  if (!kept.empty()) {
    auto leased = tx.exec_prepared("claim_lease", to_pg_array(kept), owner, lease_ms(lease));
    out.reserve(leased.size());
    for (const auto& r : leased)
      out.push_back(outbox_event{r[0].as<uint64_t>(), r[1].as<uint64_t>(), r[2].as<std::string>(),
                                 r[3].as<uint64_t>(), r[4].as<std::string>(), r[5].as<int64_t>(),
                                 r[6].as<std::string>()});
  }
  tx.commit();
  std::sort(out.begin(), out.end(),
            [](const outbox_event& a, const outbox_event& b) { return a.id < b.id; });
  return out;
}

size_t outbox_store::renew(const std::string& owner, const std::vector<uint64_t>& ids,
                           std::chrono::milliseconds lease) {
  if (ids.empty())
    return 0;
  pqxx::work tx{*conn_};
  auto res = tx.exec_prepared("renew", to_pg_array(ids), owner, lease_ms(lease));
  tx.commit();
  return res.affected_rows();
}

clean_result outbox_store::clean(const std::vector<outbox_outcome>& outcomes) {
  std::vector<uint64_t> delivered, released;
  std::vector<std::string> delivered_owner, released_owner;
  for (const auto& o : outcomes) {
    delivered.insert(delivered.end(), o.delivered.begin(), o.delivered.end());
    delivered_owner.insert(delivered_owner.end(), o.delivered.size(), o.owner);
    released.insert(released.end(), o.released.begin(), o.released.end());
    released_owner.insert(released_owner.end(), o.released.size(), o.owner);
  }
  pqxx::work tx{*conn_};
  auto rows = tx.exec_prepared("clean", to_pg_array(delivered), to_pg_text_array(delivered_owner),
                               to_pg_array(released), to_pg_text_array(released_owner));
  tx.commit();
  clean_result result;
  for (const auto& r : rows) {
    if (r[0].as<std::string>() == "deleted") {
      ++result.deleted;
      result.commit_to_delete_seconds.push_back(r[1].as<double>());
    } else {
      result.released = static_cast<size_t>(r[1].as<double>());
    }
  }
  return result;
}

size_t outbox_store::release_owner(const std::string& owner) {
  pqxx::work tx{*conn_};
  auto res = tx.exec_prepared("release_owner", owner);
  tx.commit();
  return res.affected_rows();
}

double outbox_store::oldest_event_age_seconds() {
  pqxx::read_transaction tx{*conn_};
  return tx.exec_prepared1("oldest_age")[0].as<double>();
}

void outbox_store::listen(const std::string& channel) {
  receiver_ = std::make_unique<notification_counter>(*conn_, channel);
}

int outbox_store::wait_for_notification(std::chrono::milliseconds timeout) {
  auto us = timeout.count() * 1000;
  return conn_->await_notification(us / 1000000, us % 1000000);
}

} // namespace lpa::db
