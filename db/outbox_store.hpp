#pragma once

#include "db/connection.hpp"
#include "db/pg_errors.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lpa::db {

// One claimed package_event row, as the retranslator sends it.
struct outbox_event {
  uint64_t id = 0;
  uint64_t package_id = 0;
  std::string type; // Created | Updated | Removed
  uint64_t package_seq = 0;
  std::string payload; // JSON text; empty for Removed
  int64_t created_us = 0;
  std::string traceparent;
};

// What the cleaner applies for one owner: delete what Kafka acknowledged, release the rest.
struct outbox_outcome {
  std::string owner;
  std::vector<uint64_t> delivered;
  std::vector<uint64_t> released;
};

struct clean_result {
  size_t deleted = 0;
  size_t released = 0;
  std::vector<double> commit_to_delete_seconds; // per deleted event, on the DB clock
};

// The retranslator's side of the outbox. Every time and lease is computed by PostgreSQL.
// Not thread-safe: one per actor.
class outbox_store {
public:
  explicit outbox_store(const store_settings& settings);
  ~outbox_store();

  // Claims up to `limit` events for `owner` with a lease of `lease`, oldest first, such that
  // for every package the claimed events are a gap-free run starting at its oldest event in
  // the table, and no package has events leased to two owners at once. Claims of all processes
  // are serialized by a transaction advisory lock, which makes these rules hold under
  // concurrency; FOR UPDATE SKIP LOCKED keeps claims from waiting on rows the cleaner or the
  // API are writing. Events whose lease expired are claimable again.
  std::vector<outbox_event> claim(const std::string& owner, size_t limit,
                                  std::chrono::milliseconds lease);

  // Extends the lease of `ids` still held by `owner`; returns how many were extended.
  size_t renew(const std::string& owner, const std::vector<uint64_t>& ids,
               std::chrono::milliseconds lease);

  // Applies many owners' outcomes in one statement. Rows no longer held by the named owner
  // (lease expired and re-claimed) are left alone.
  clean_result clean(const std::vector<outbox_outcome>& outcomes);

  // Releases every event `owner` holds (its actor died); returns how many.
  size_t release_owner(const std::string& owner);

  // Age in seconds of the oldest event still in the table, 0 when it is empty (DB clock).
  double oldest_event_age_seconds();

  // LISTEN on the channel the API's commits NOTIFY; then wait_for_notification() wakes on it.
  void listen(const std::string& channel);
  // Waits up to `timeout` for notifications; returns how many arrived.
  int wait_for_notification(std::chrono::milliseconds timeout);

  pqxx::connection& connection() { return *conn_; }

private:
  class notification_counter;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<notification_counter> receiver_;
};

// An outbox_store that connects on first use and again after the connection broke, so an actor
// rides out a PostgreSQL restart without being restarted itself.
class outbox_session {
public:
  // on_connect runs on every fresh connection (e.g. to LISTEN again).
  explicit outbox_session(store_settings settings,
                          std::function<void(outbox_store&)> on_connect = {})
      : settings_(std::move(settings)), on_connect_(std::move(on_connect)) {}

  // Runs f(store); exceptions propagate, and a connection failure drops the connection first.
  template <class F>
  auto run(F&& f) -> decltype(f(std::declval<outbox_store&>())) {
    try {
      if (!store_) {
        store_ = std::make_unique<outbox_store>(settings_);
        if (on_connect_)
          on_connect_(*store_);
      }
      return f(*store_);
    } catch (const std::exception& e) {
      if (is_connection_failure(e) || (store_ && !store_->connection().is_open()))
        store_.reset();
      throw;
    }
  }

private:
  store_settings settings_;
  std::function<void(outbox_store&)> on_connect_;
  std::unique_ptr<outbox_store> store_;
};

// The channel the outbox trigger notifies on each committed insert.
inline constexpr const char* outbox_channel = "package_event";

} // namespace lpa::db
