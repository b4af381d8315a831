#pragma once

#include "db/connection.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lpa::db {

// A package as stored; timestamps are microseconds since the Unix epoch (DB clock).
struct package_row {
  uint64_t id = 0;
  std::string title;
  std::string material;
  float max_volume = 0;
  bool reusable = false;
  int64_t created_us = 0;
  bool has_updated = false;
  int64_t updated_us = 0;
};

enum class write_kind : uint8_t { create, update, remove };

// One outbox write, in the API's own terms: for update an empty title/material and a zero
// volume mean "unchanged", and reusable changes only when set_reusable is true.
struct write_command {
  write_kind kind = write_kind::create;
  uint64_t package_id = 0; // update and remove
  std::string title;
  std::string material;
  float max_volume = 0;
  bool set_reusable = false;
  bool reusable = false;
  std::string traceparent;     // W3C trace context of the request, empty when untraced
  std::string idempotency_key; // create only; empty when the client sent none
};

inline std::string to_string(write_kind x) {
  switch (x) {
  case write_kind::create:
    return "create";
  case write_kind::update:
    return "update";
  case write_kind::remove:
    return "remove";
  }
  return "unknown";
}

// A write waiting for its transaction, with the moment its caller stops waiting.
struct pending_write {
  write_command cmd;
  std::chrono::system_clock::time_point deadline;
};

enum class write_status : uint8_t {
  committed,         // applied; `id` is the package's
  replayed,          // a create whose idempotency key was committed before: `id` is the original's
  not_found,         // update/remove of a missing package: nothing written
  key_reused,        // the idempotency key was committed with other fields: nothing written
  deadline_exceeded, // the deadline passed before it ran, or it was cancelled and rolled back
  conflict,          // lost a deadlock or serialization race and was rolled back: may be retried
  failed,            // the statement failed (logged) and was rolled back
};

struct write_outcome {
  write_status status = write_status::failed;
  uint64_t id = 0;
};

// One statement a store call sent, as the RepoActor traces it: its name (the prepared statement's,
// or BEGIN and COMMIT of the transaction), never its parameters.
struct statement_event {
  static constexpr size_t no_write = static_cast<size_t>(-1);
  const char* name;
  size_t write; // the index of the write it ran for in write(); no_write for the others
  std::chrono::system_clock::time_point start;
  std::chrono::system_clock::time_point end;
  bool failed;
};

// Told of each statement as it completes. Store calls take a null observer when nobody listens,
// and then read no clock.
class statement_observer {
public:
  virtual ~statement_observer() = default;
  virtual void statement(const statement_event& event) = 0;
};

struct list_query {
  uint64_t offset = 0; // legacy paging; 0 when the cursor is used
  uint64_t cursor = 0; // keyset: packages with ID > cursor
  uint64_t limit = 0;
};

// The package table and its outbox, over one connection. Not thread-safe: owned by one actor.
class package_store {
public:
  // `key_retention`: how long an idempotency key holds; an older key may be used again.
  package_store(const store_settings& settings, std::chrono::milliseconds key_retention);

  // Each call takes the time left for the request: statements that would outlive it are
  // cancelled by PostgreSQL (SQLSTATE 57014), so a request the client gave up on does not
  // commit later.

  // Group commit: applies the writes in order in one transaction, each with exactly one
  // package_event row. Writes whose deadline has passed are not run. A write whose statement
  // fails fails alone: the transaction is rolled back and runs again without it. The result has
  // one outcome per write, valid once this returns (after the COMMIT). Throws when the
  // connection is lost or the COMMIT fails: then the outcome of every write is unknown.
  std::vector<write_outcome> write(const std::vector<pending_write>& writes,
                                   statement_observer* observer = nullptr);

  // Deletes up to `limit` idempotency keys older than the retention; returns how many.
  size_t expire_keys(size_t limit);

  std::optional<package_row> describe(uint64_t id, std::chrono::milliseconds budget,
                                      statement_observer* observer = nullptr);
  std::vector<package_row> list(const list_query& query, std::chrono::milliseconds budget,
                                statement_observer* observer = nullptr);

  // Round trip to the server; throws when it does not answer.
  void ping();

  pqxx::connection& connection() { return *conn_; }

private:
  // Connects and prepares the statements.
  void open();
  // Runs `cmd` inside `tx`; the outcome is final only once `tx` commits.
  write_outcome apply(pqxx::transaction_base& tx, const write_command& cmd, size_t index,
                      statement_observer* observer);
  write_outcome create_once(pqxx::transaction_base& tx, const write_command& cmd, size_t index,
                            statement_observer* observer);
  // Runs `op`; when the connection turns out to be broken (PostgreSQL restarted while this one
  // was idle) and `may_retry` still holds, runs it once more on a fresh connection.
  template <class F>
  auto retried_on_fresh_connection(const bool& may_retry, F&& op);

  store_settings settings_;
  std::string key_retention_; // an SQL interval
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace lpa::db
