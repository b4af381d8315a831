#include "db/package_store.hpp"

#include "db/pg_errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

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

// Bounds the transaction's statements by the request's remaining time.
void limit_statements(pqxx::transaction_base& tx, std::chrono::milliseconds budget,
                      std::chrono::milliseconds statement_timeout) {
  auto ms = std::max<long long>(1, std::min(budget, statement_timeout).count());
  tx.exec0("SET LOCAL statement_timeout = " + std::to_string(ms));
}

} // namespace

package_store::package_store(const store_settings& settings) : settings_(settings) {
  open();
}

void package_store::open() {
  conn_ = connect(settings_);
  conn_->prepare("create", create_sql());
  conn_->prepare("update", update_sql());
  conn_->prepare("remove", remove_sql());
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

std::optional<uint64_t> package_store::write(const write_command& cmd,
                                             std::chrono::milliseconds budget) {
  if (cmd.kind != write_kind::create && !storable(cmd.package_id))
    return std::nullopt;
  // Safe to run again only while the write statement was not sent: BEGIN and SET LOCAL change
  // nothing.
  bool not_sent = true;
  return retried_on_fresh_connection(not_sent, [&] { return write_once(cmd, budget, not_sent); });
}

std::optional<uint64_t> package_store::write_once(const write_command& cmd,
                                                  std::chrono::milliseconds budget,
                                                  bool& not_sent) {
  pqxx::work tx{*conn_};
  limit_statements(tx, budget, settings_.statement_timeout);
  not_sent = false;
  pqxx::result res;
  switch (cmd.kind) {
  case write_kind::create:
    res = tx.exec_prepared("create", cmd.title, cmd.material, cmd.max_volume, cmd.reusable,
                           cmd.traceparent);
    break;
  case write_kind::update:
    res = tx.exec_prepared("update", cmd.package_id, cmd.title, cmd.material, cmd.max_volume,
                           cmd.set_reusable, cmd.reusable, cmd.traceparent);
    break;
  case write_kind::remove:
    res = tx.exec_prepared("remove", cmd.package_id, cmd.traceparent);
    break;
  }
  auto id = first_id(res);
  if (id)
    tx.commit();
  return id;
}

std::optional<package_row> package_store::describe(uint64_t id, std::chrono::milliseconds budget) {
  if (!storable(id))
    return std::nullopt;
  const bool always = true; // a read can always run again
  return retried_on_fresh_connection(always, [&]() -> std::optional<package_row> {
    pqxx::read_transaction tx{*conn_};
    limit_statements(tx, budget, settings_.statement_timeout);
    auto res = tx.exec_prepared("describe", id);
    if (res.empty())
      return std::nullopt;
    return to_package(res[0]);
  });
}

std::vector<package_row> package_store::list(const list_query& query,
                                             std::chrono::milliseconds budget) {
  if (!storable(query.cursor) || !storable(query.offset))
    return {};
  const bool always = true; // a read can always run again
  return retried_on_fresh_connection(always, [&] {
    pqxx::read_transaction tx{*conn_};
    limit_statements(tx, budget, settings_.statement_timeout);
    auto res = query.offset > 0 ? tx.exec_prepared("list_offset", query.offset, query.limit)
                                : tx.exec_prepared("list_after", query.cursor, query.limit);
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
