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
  std::string traceparent; // W3C trace context of the request, empty when untraced
};

struct list_query {
  uint64_t offset = 0; // legacy paging; 0 when the cursor is used
  uint64_t cursor = 0; // keyset: packages with ID > cursor
  uint64_t limit = 0;
};

// The package table and its outbox, over one connection. Not thread-safe: owned by one actor.
class package_store {
public:
  explicit package_store(const store_settings& settings);

  // Each call takes the time left for the request: statements that would outlive it are
  // cancelled by PostgreSQL (SQLSTATE 57014), so a request the client gave up on does not
  // commit later.

  // Applies the command and writes exactly one package_event row in the same transaction.
  // Returns the package id, or std::nullopt when update/remove found no such package (and
  // nothing was written).
  std::optional<uint64_t> write(const write_command& cmd, std::chrono::milliseconds budget);

  std::optional<package_row> describe(uint64_t id, std::chrono::milliseconds budget);
  std::vector<package_row> list(const list_query& query, std::chrono::milliseconds budget);

  // Round trip to the server; throws when it does not answer.
  void ping();

  pqxx::connection& connection() { return *conn_; }

private:
  // Connects and prepares the statements.
  void open();
  // One attempt; clears `not_sent` once the write statement goes to the server.
  std::optional<uint64_t> write_once(const write_command& cmd, std::chrono::milliseconds budget,
                                     bool& not_sent);
  // Runs `op`; when the connection turns out to be broken (PostgreSQL restarted while this one
  // was idle) and `may_retry` still holds, runs it once more on a fresh connection.
  template <class F>
  auto retried_on_fresh_connection(const bool& may_retry, F&& op);

  store_settings settings_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace lpa::db
