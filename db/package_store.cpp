#include "db/package_store.hpp"

#include "db/pg_errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace lpa::db {

namespace {

// Columns of a package as the API returns it; timestamps as epoch microseconds.
constexpr const char* package_columns = "package_id, title, material, max_volume, reusable,"
                                        " (extract(epoch FROM created_at) * 1000000)::int8,"
                                        " (extract(epoch FROM updated_at) * 1000000)::int8";

// The outbox payload: the package row with the replaced service's JSON keys.
constexpr const char* payload_json
    = "jsonb_build_object('ID', package_id, 'Title', title, 'Material', material,"
      " 'MaximumVolume', max_volume, 'Reusable', reusable, 'Created', created_at,"
      " 'Updated', updated_at)";

// What a create asked for, as an md5 over its fields: title, material, volume and reusable in
// the parameters from $first on.
std::string request_fingerprint(int first) {
  auto p = [first](int n) { return "$" + std::to_string(first + n); };
  return "md5(jsonb_build_array(" + p(0) + "::text, " + p(1) + "::text, " + p(2) + "::real, " + p(3)
         + "::boolean)::text)";
}

std::string create_sql() {
  return std::string{"WITH p AS (INSERT INTO package (title, material, max_volume, reusable)"
                     " VALUES ($1, $2, $3, $4) RETURNING *)"
                     " INSERT INTO package_event"
                     " (package_id, event_type, package_seq, payload, traceparent)"
                     " SELECT package_id, 'Created', event_seq, "}
         + payload_json + ", NULLIF($5, '') FROM p RETURNING package_id";
}

// Empty title/material and zero volume leave the column as it is.
std::string update_sql() {
  return std::string{"WITH p AS (UPDATE package SET"
                     " title = coalesce(NULLIF($2, ''), title),"
                     " material = coalesce(NULLIF($3, ''), material),"
                     " max_volume = CASE WHEN $4::real = 0 THEN max_volume ELSE $4::real END,"
                     " reusable = CASE WHEN $5 THEN $6 ELSE reusable END,"
                     " updated_at = now(), event_seq = event_seq + 1"
                     " WHERE package_id = $1 RETURNING *)"
                     " INSERT INTO package_event"
                     " (package_id, event_type, package_seq, payload, traceparent)"
                     " SELECT package_id, 'Updated', event_seq, "}
         + payload_json + ", NULLIF($7, '') FROM p RETURNING package_id";
}

// A create carrying an idempotency key: the key row and the package are written together, or
// nothing is written when the key is held (by a committed transaction, or by one in flight: the
// insert then waits for it). An expired key is taken over.
std::string create_keyed_sql() {
  return std::string{
             "WITH k AS (INSERT INTO idempotency_key AS k (idem_key, fingerprint, package_id)"
             " VALUES ($6, "}
         + request_fingerprint(1)
         + ", nextval('package_package_id_seq'))"
           " ON CONFLICT (idem_key) DO UPDATE SET"
           " fingerprint = EXCLUDED.fingerprint,"
           " package_id = EXCLUDED.package_id, created_at = now()"
           " WHERE k.created_at < now() - $7::interval"
           " RETURNING package_id),"
           " p AS (INSERT INTO package"
           " (package_id, title, material, max_volume, reusable)"
           " SELECT package_id, $1, $2, $3, $4 FROM k RETURNING *)"
           " INSERT INTO package_event"
           " (package_id, event_type, package_seq, payload, traceparent)"
           " SELECT package_id, 'Created', event_seq, "
         + payload_json + ", NULLIF($5, '') FROM p RETURNING package_id";
}

// The package a key created, and whether this request has the same fields.
std::string key_lookup_sql() {
  return "SELECT package_id, fingerprint = " + request_fingerprint(2)
         + " FROM idempotency_key WHERE idem_key = $1";
}

std::string remove_sql() {
  return "WITH p AS (DELETE FROM package WHERE package_id = $1 RETURNING package_id, event_seq)"
         " INSERT INTO package_event"
         " (package_id, event_type, package_seq, payload, traceparent)"
         " SELECT package_id, 'Removed', event_seq + 1, NULL, NULLIF($2, '') FROM p"
         " RETURNING package_id";
}

package_row to_package(const pqxx::row& r) {
  package_row p;
  p.id = r[0].as<uint64_t>();
  p.title = r[1].as<std::string>();
  p.material = r[2].as<std::string>();
  p.max_volume = r[3].as<float>();
  p.reusable = r[4].as<bool>();
  p.created_us = r[5].as<int64_t>();
  p.has_updated = !r[6].is_null();
  p.updated_us = p.has_updated ? r[6].as<int64_t>() : 0;
  return p;
}

// Ids above bigint's range cannot exist in the table (and would be an SQL error).
bool storable(uint64_t id) {
  return id <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

std::optional<uint64_t> first_id(const pqxx::result& res) {
  if (res.empty())
    return std::nullopt;
  return res[0][0].as<uint64_t>();
}

// Tells `observer` (when there is one) of one statement: its name, when it ran, and whether it
// failed (it did unless done() was called).
class statement_timer {
public:
  statement_timer(statement_observer* observer, const char* name, size_t write)
      : observer_(observer), name_(name), write_(write),
        start_(observer ? std::chrono::system_clock::now()
                        : std::chrono::system_clock::time_point{}) {}
  statement_timer(const statement_timer&) = delete;
  statement_timer& operator=(const statement_timer&) = delete;
  ~statement_timer() {
    try {
      report(true);
    } catch (const std::exception&) { // tracing must never turn a failure into another one
    }
  }

  void done() { report(false); }

private:
  void report(bool failed) {
    if (!observer_)
      return;
    auto observer = std::exchange(observer_, nullptr);
    observer->statement({name_, write_, start_, std::chrono::system_clock::now(), failed});
  }

  statement_observer* observer_;
  const char* name_;
  size_t write_;
  std::chrono::system_clock::time_point start_;
};

// Runs the prepared statement `name` in `tx`, as a statement of write `index`.
template <class... Args>
pqxx::result run_prepared(pqxx::transaction_base& tx, statement_observer* observer, size_t index,
                          const char* name, const Args&... args) {
  statement_timer timer{observer, name, index};
  auto res = tx.exec_prepared(name, args...);
  timer.done();
  return res;
}

// Starts a bounded transaction in `tx`, as the statement BEGIN.
void begin(std::optional<bounded_transaction>& tx, pqxx::connection_base& conn,
           pqxx::readwrite_policy policy, std::chrono::milliseconds budget,
           std::chrono::milliseconds statement_timeout, statement_observer* observer) {
  statement_timer timer{observer, "BEGIN", statement_event::no_write};
  tx.emplace(conn, policy, budget, statement_timeout);
  timer.done();
}

} // namespace

package_store::package_store(const store_settings& settings,
                             std::chrono::milliseconds key_retention)
    : settings_(settings), key_retention_(std::to_string(key_retention.count()) + " milliseconds") {
  open();
}

void package_store::open() {
  conn_ = connect(settings_);
  conn_->prepare("create", create_sql());
  conn_->prepare("update", update_sql());
  conn_->prepare("remove", remove_sql());
  conn_->prepare("create_keyed", create_keyed_sql());
  conn_->prepare("key_lookup", key_lookup_sql());
  conn_->prepare("expire_keys", "DELETE FROM idempotency_key WHERE idem_key IN (SELECT idem_key"
                                " FROM idempotency_key WHERE created_at < now() - $1::interval"
                                " ORDER BY created_at LIMIT $2)");
  conn_->prepare("describe",
                 std::string{"SELECT "} + package_columns + " FROM package WHERE package_id = $1");
  conn_->prepare("list_after", std::string{"SELECT "} + package_columns
                                   + " FROM package WHERE package_id > $1"
                                     " ORDER BY package_id LIMIT $2");
  conn_->prepare("list_offset", std::string{"SELECT "} + package_columns
                                    + " FROM package ORDER BY package_id LIMIT $2 OFFSET $1");
}

template <class F>
auto package_store::retried_on_fresh_connection(const bool& may_retry, F&& op) {
  try {
    return op();
  } catch (const std::exception& e) {
    if (!may_retry || !(is_connection_failure(e) || !conn_->is_open()))
      throw;
    spdlog::info("PostgreSQL connection lost while idle ({}); retrying on a fresh connection",
                 e.what());
    open();
    return op();
  }
}

namespace {

using sys_clock = std::chrono::system_clock;

std::chrono::milliseconds time_left(const pending_write& w, sys_clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(w.deadline - now);
}

// The writes still to run, in their original order.
using write_indexes = std::vector<size_t>;

// Marks the writes whose deadline has passed and drops them from `active`.
void drop_expired(const std::vector<pending_write>& writes, write_indexes& active,
                  std::vector<write_outcome>& out) {
  auto now = sys_clock::now();
  active.erase(std::remove_if(active.begin(), active.end(),
                              [&](size_t i) {
                                if (time_left(writes[i], now).count() > 0)
                                  return false;
                                out[i].status = write_status::deadline_exceeded;
                                return true;
                              }),
               active.end());
}

bool any_expired(const std::vector<pending_write>& writes, const write_indexes& active) {
  auto now = sys_clock::now();
  return std::any_of(active.begin(), active.end(),
                     [&](size_t i) { return time_left(writes[i], now).count() <= 0; });
}

// The transaction must end before the earliest deadline among the writes it carries.
std::chrono::milliseconds batch_budget(const std::vector<pending_write>& writes,
                                       const write_indexes& active) {
  auto now = sys_clock::now();
  auto budget = std::chrono::milliseconds::max();
  for (auto i : active)
    budget = std::min(budget, time_left(writes[i], now));
  return budget;
}

// What a failed statement means for the write that ran it.
write_status failure_status(const std::exception& e) {
  if (is_statement_timeout(e))
    return write_status::deadline_exceeded;
  if (is_transient_conflict(e))
    return write_status::conflict;
  return write_status::failed;
}

} // namespace

std::vector<write_outcome> package_store::write(const std::vector<pending_write>& writes,
                                                statement_observer* observer) {
  std::vector<write_outcome> out(writes.size());
  write_indexes active(writes.size());
  for (size_t i = 0; i < active.size(); ++i)
    active[i] = i;
  // The first attempt may run again on a fresh connection while no write statement was sent.
  bool not_sent = true;
  bool reconnected = false;
  // Each failed attempt removes one write, so this ends.
  while (true) {
    drop_expired(writes, active, out);
    if (active.empty())
      return out;
    size_t running = active.front();
    bool committing = false;
    try {
      std::optional<bounded_transaction> tx;
      begin(tx, *conn_, pqxx::read_write, batch_budget(writes, active), settings_.statement_timeout,
            observer);
      for (auto i : active) {
        running = i;
        not_sent = false;
        out[i] = apply(*tx, writes[i].cmd, i, observer);
      }
      committing = true;
      statement_timer commit{observer, "COMMIT", statement_event::no_write};
      tx->commit();
      commit.done();
      return out;
    } catch (const std::exception& e) {
      if (committing) // whether the COMMIT happened is unknown
        throw;
      if (is_connection_failure(e) || !conn_->is_open()) {
        if (!not_sent || reconnected)
          throw;
        spdlog::info("PostgreSQL connection lost while idle ({}); retrying on a fresh connection",
                     e.what());
        open();
        reconnected = true;
        continue;
      }
      auto status = failure_status(e);
      // Cancelled at the group's earliest deadline: the writes that reached theirs are dropped at
      // the top of the loop, and the one that was running runs again with the rest.
      if (status == write_status::deadline_exceeded && any_expired(writes, active))
        continue;
      if (status == write_status::failed)
        spdlog::error("a {} failed and was rolled back: {}", to_string(writes[running].cmd.kind),
                      e.what());
      out[running].status = status;
      active.erase(std::find(active.begin(), active.end(), running));
    }
  }
}

write_outcome package_store::apply(pqxx::transaction_base& tx, const write_command& cmd,
                                   size_t index, statement_observer* observer) {
  pqxx::result res;
  switch (cmd.kind) {
  case write_kind::create:
    return create_once(tx, cmd, index, observer);
  case write_kind::update:
    if (!storable(cmd.package_id))
      return {write_status::not_found, 0};
    res = run_prepared(tx, observer, index, "update", cmd.package_id, cmd.title, cmd.material,
                       cmd.max_volume, cmd.set_reusable, cmd.reusable, cmd.traceparent);
    break;
  case write_kind::remove:
    if (!storable(cmd.package_id))
      return {write_status::not_found, 0};
    res = run_prepared(tx, observer, index, "remove", cmd.package_id, cmd.traceparent);
    break;
  }
  if (auto id = first_id(res))
    return {write_status::committed, *id};
  return {write_status::not_found, 0};
}

write_outcome package_store::create_once(pqxx::transaction_base& tx, const write_command& cmd,
                                         size_t index, statement_observer* observer) {
  if (cmd.idempotency_key.empty()) {
    auto res = run_prepared(tx, observer, index, "create", cmd.title, cmd.material, cmd.max_volume,
                            cmd.reusable, cmd.traceparent);
    return {write_status::committed, res[0][0].as<uint64_t>()};
  }
  auto res
      = run_prepared(tx, observer, index, "create_keyed", cmd.title, cmd.material, cmd.max_volume,
                     cmd.reusable, cmd.traceparent, cmd.idempotency_key, key_retention_);
  if (!res.empty())
    return {write_status::committed, res[0][0].as<uint64_t>()};
  // The key was taken (and its transaction committed: the insert waited for it).
  auto seen = run_prepared(tx, observer, index, "key_lookup", cmd.idempotency_key, cmd.title,
                           cmd.material, cmd.max_volume, cmd.reusable);
  if (seen.empty()) // deleted by expiry between the two statements
    return {write_status::conflict, 0};
  auto status = seen[0][1].as<bool>() ? write_status::replayed : write_status::key_reused;
  return {status, seen[0][0].as<uint64_t>()};
}

size_t package_store::expire_keys(size_t limit) {
  const bool always = true; // a delete of expired keys can always run again
  return retried_on_fresh_connection(always, [&] {
    pqxx::work tx{*conn_};
    auto res = tx.exec_prepared("expire_keys", key_retention_, limit);
    tx.commit();
    return static_cast<size_t>(res.affected_rows());
  });
}

std::optional<package_row> package_store::describe(uint64_t id, std::chrono::milliseconds budget,
                                                   statement_observer* observer) {
  if (!storable(id))
    return std::nullopt;
  const bool always = true; // a read can always run again
  return retried_on_fresh_connection(always, [&]() -> std::optional<package_row> {
    std::optional<bounded_transaction> tx;
    begin(tx, *conn_, pqxx::read_only, budget, settings_.statement_timeout, observer);
    auto res = run_prepared(*tx, observer, statement_event::no_write, "describe", id);
    if (res.empty())
      return std::nullopt;
    return to_package(res[0]);
  });
}

std::vector<package_row> package_store::list(const list_query& query,
                                             std::chrono::milliseconds budget,
                                             statement_observer* observer) {
  if (!storable(query.cursor) || !storable(query.offset))
    return {};
  const bool always = true; // a read can always run again
  return retried_on_fresh_connection(always, [&] {
    std::optional<bounded_transaction> tx;
    begin(tx, *conn_, pqxx::read_only, budget, settings_.statement_timeout, observer);
    const auto no_write = statement_event::no_write;
    auto res = query.offset > 0
                   ? run_prepared(*tx, observer, no_write, "list_offset", query.offset, query.limit)
                   : run_prepared(*tx, observer, no_write, "list_after", query.cursor, query.limit);
    std::vector<package_row> out;
    out.reserve(res.size());
    for (const auto& r : res)
      out.push_back(to_package(r));
    return out;
  });
}

void package_store::ping() {
  const bool always = true;
  retried_on_fresh_connection(always, [&] {
    pqxx::nontransaction tx{*conn_};
    return tx.exec1("SELECT 1");
  });
}

} // namespace lpa::db
