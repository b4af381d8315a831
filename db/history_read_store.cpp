#include "db/history_read_store.hpp"

#include "db/pg_errors.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace lpa::db {

namespace {

const std::string created_us = "(extract(epoch FROM created_at) * 1000000)::int8";
const std::string event_columns = "package_id, event_id, package_seq, event_type, " + created_us
                                  + ", payload::text, traceparent";

// Ids and sequence numbers above bigint's range cannot be in the table.
constexpr uint64_t max_stored = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

history_entry to_event(const pqxx::row& r) {
  history_entry e;
  e.package_id = r[0].as<uint64_t>();
  e.event_id = r[1].as<uint64_t>();
  e.seq = r[2].as<uint64_t>();
  e.type = r[3].as<std::string>();
  e.created_us = r[4].as<int64_t>();
  e.payload = r[5].is_null() ? std::string{} : r[5].as<std::string>();
  e.traceparent = r[6].is_null() ? std::string{} : r[6].as<std::string>();
  return e;
}

} // namespace

history_read_store::history_read_store(const store_settings& settings) : settings_(settings) {
  open();
}

void history_read_store::open() {
  conn_ = connect(settings_);
  // The row comparison is an index condition: the scan starts right after the cursor.
  conn_->prepare("history_page", "SELECT " + event_columns
                                     + " FROM history_event WHERE package_id = $1"
                                       " AND (package_seq, event_id) > ($2, $3)"
                                       " ORDER BY package_seq, event_id LIMIT $4");
  // Backwards from the package's newest event to the first one committed by then. The time is
  // compared in exact microseconds (extract gives numeric; interval arithmetic would go through
  // double precision).
  conn_->prepare("history_at", "SELECT " + event_columns
                                   + " FROM history_event WHERE package_id = $1"
                                     " AND "
                                   + created_us
                                   + " <= $2"
                                     " ORDER BY package_seq DESC, event_id DESC LIMIT 1");
}

template <class F>
auto history_read_store::reconnecting(F&& read) {
  try {
    return read();
  } catch (const std::exception& e) {
    if (!is_connection_failure(e) && conn_->is_open())
      throw;
    spdlog::info("history database connection lost while idle ({}); reading on a fresh one",
                 e.what());
    open();
    return read();
  }
}

std::vector<history_entry> history_read_store::list_events(const history_page_query& query,
                                                           std::chrono::milliseconds budget) {
  if (query.package_id > max_stored || query.after_seq > max_stored
      || query.after_event_id > max_stored)
    return {};
  return reconnecting([&] {
    bounded_transaction tx{*conn_, pqxx::read_only, budget, settings_.statement_timeout};
    auto res = tx.exec_prepared("history_page", query.package_id, query.after_seq,
                                query.after_event_id, query.limit);
    std::vector<history_entry> out;
    out.reserve(res.size());
    for (const auto& r : res)
      out.push_back(to_event(r));
    return out;
  });
}

std::optional<history_entry> history_read_store::last_event_at(uint64_t package_id, int64_t at_us,
                                                               std::chrono::milliseconds budget) {
  if (package_id > max_stored)
    return std::nullopt;
  return reconnecting([&]() -> std::optional<history_entry> {
    bounded_transaction tx{*conn_, pqxx::read_only, budget, settings_.statement_timeout};
    auto res = tx.exec_prepared("history_at", package_id, at_us);
    if (res.empty())
      return std::nullopt;
    return to_event(res[0]);
  });
}

void history_read_store::ping() {
  reconnecting([&] {
    pqxx::nontransaction tx{*conn_};
    return tx.exec1("SELECT 1");
  });
}

} // namespace lpa::db
