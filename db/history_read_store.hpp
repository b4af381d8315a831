#pragma once

#include "db/connection.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lpa::db {

// One row of history_event, as the history API shows it; times are microseconds since the Unix
// epoch.
struct history_entry {
  uint64_t package_id = 0;
  uint64_t event_id = 0;
  uint64_t seq = 0;
  std::string type; // Created, Updated or Removed
  int64_t created_us = 0;
  std::string payload;     // the JSON text; "" for Removed
  std::string traceparent; // "" when the write was not traced
};

// Where a page starts: after the event (after_seq, after_event_id) in the package's order
// (package_seq, event_id); (0, 0) is before the first event.
struct history_page_query {
  uint64_t package_id = 0;
  uint64_t after_seq = 0;
  uint64_t after_event_id = 0;
  uint32_t limit = 0;
};

// Reads of package-history's database (db/history_migrations) for the history API, over one
// connection. Not thread-safe: owned by one reader actor. Both reads are index range scans on
// history_event_package_seq (package_id, package_seq, event_id) in the package's partition.
// Each read takes the time left for its request: PostgreSQL cancels a statement that would
// outlive it. A read that finds the connection broken (PostgreSQL restarted meanwhile) runs once
// more on a fresh one; other failures throw.
class history_read_store {
public:
  explicit history_read_store(const store_settings& settings);

  // Up to query.limit events of the package after the query's position, in order.
  std::vector<history_entry> list_events(const history_page_query& query,
                                         std::chrono::milliseconds budget);

  // The package's last event (highest package_seq) committed at or before `at_us`; none when
  // the package had no event by then.
  std::optional<history_entry> last_event_at(uint64_t package_id, int64_t at_us,
                                             std::chrono::milliseconds budget);

  // Round trip to the server; throws when it does not answer.
  void ping();

  pqxx::connection& connection() { return *conn_; }

private:
  void open();
  template <class F>
  auto reconnecting(F&& read);

  store_settings settings_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace lpa::db
