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

// One package_event row, as the retranslator sends it.
struct outbox_event {
  uint64_t id = 0;
  uint64_t package_id = 0;
  uint32_t slot = 0;
  std::string type; // Created | Updated | Removed
  uint64_t package_seq = 0;
  std::string payload; // JSON text; empty for Removed
  int64_t created_us = 0;
  std::string traceparent;
};

// Where a slot's reader stands: events with ids up to `cursor` were read already.
struct slot_cursor {
  uint32_t slot = 0;
  uint64_t cursor = 0;
};

// A slot leased by a retranslator; `epoch` grows with every acquisition.
struct slot_lease {
  uint32_t slot = 0;
  uint64_t epoch = 0;
};

// An event Kafka acknowledged, to be deleted while its slot still has the epoch it was read in.
struct delivered_event {
  uint64_t id = 0;
  uint32_t slot = 0;
  uint64_t epoch = 0;
};

struct delete_result {
  size_t deleted = 0;
  std::vector<double> commit_to_delete_seconds; // per deleted event, on the DB clock
};

// What a retranslator learns at a heartbeat.
struct membership {
  size_t live_relays = 0;       // retranslators with a heartbeat that has not expired
  std::vector<slot_lease> held; // the slots this one holds, leases extended
  size_t slot_count = 0;
};

struct acquired_slots {
  std::vector<slot_lease> leases;
  size_t taken_over = 0; // of them, slots another retranslator held until its lease expired
};

// The retranslator's side of the outbox: slot leases, reads and deletes. Every time and lease is
// computed by PostgreSQL. Every method is one autocommit statement (or one short transaction
// that waits for nothing), so no transaction stays open across a network wait.
// Not thread-safe: one per actor.
class outbox_store {
public:
  explicit outbox_store(const store_settings& settings);
  ~outbox_store();

  // Reads, for each slot, the events after its cursor in id order (at most `per_slot` each, at
  // most `limit` in all, slots taken in the order given), plus any event at or below a cursor
  // that is not in `held` (committed late: its id was taken before an event already read, but
  // it committed after the read). Both parts come from one snapshot.
  std::vector<outbox_event> read(const std::vector<slot_cursor>& slots,
                                 const std::vector<uint64_t>& held, size_t per_slot, size_t limit);

  // Deletes what Kafka acknowledged, each row only while its slot is still leased to `relay`
  // in the epoch it was read in; rows locked by someone else are skipped, not waited for.
  delete_result delete_delivered(const std::string& relay,
                                 const std::vector<delivered_event>& events);

  // Records that `relay` is alive for `lease`, extends the leases of the slots it holds, and
  // says how many retranslators are alive and which slots it holds now (a slot taken over after
  // its lease expired is no longer among them).
  membership heartbeat(const std::string& relay, std::chrono::milliseconds lease);

  // Takes up to `count` slots that are free or whose lease expired, each with a new epoch.
  acquired_slots acquire(const std::string& relay, size_t count, std::chrono::milliseconds lease);

  // Gives slots back (free at once for others); only those still held in the given epoch.
  size_t release(const std::string& relay, const std::vector<slot_lease>& slots);

  // Releases every slot of `relay` and removes it from the live retranslators.
  void leave(const std::string& relay);

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

// Makes the database's slot count `wanted` when it differs and no other retranslator than
// `relay` is alive: every event is moved to its new slot, and the slot table is rebuilt, in one
// transaction that holds off writers meanwhile. Returns the slot count in force (the
// database's, which is `wanted` unless others are alive).
size_t ensure_slot_count(pqxx::connection& conn, const std::string& relay, size_t wanted);

// An outbox_store that connects on first use and again after the connection broke, so an actor
// rides out a PostgreSQL restart without being restarted itself.
class outbox_session {
public:
  // on_connect runs on every fresh connection (e.g. to LISTEN again); on_error sees every
  // failure before it propagates (for metrics).
  explicit outbox_session(store_settings settings,
                          std::function<void(outbox_store&)> on_connect = {},
                          std::function<void(const std::exception&)> on_error = {})
      : settings_(std::move(settings)), on_connect_(std::move(on_connect)),
        on_error_(std::move(on_error)) {}

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
      if (on_error_)
        on_error_(e);
      if (is_connection_failure(e) || (store_ && !store_->connection().is_open()))
        store_.reset();
      throw;
    }
  }

private:
  store_settings settings_;
  std::function<void(outbox_store&)> on_connect_;
  std::function<void(const std::exception&)> on_error_;
  std::unique_ptr<outbox_store> store_;
};

// The channel the outbox trigger notifies on each committed insert.
inline constexpr const char* outbox_channel = "package_event";

} // namespace lpa::db
