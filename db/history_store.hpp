#pragma once

#include "db/connection.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lpa::db {

// One event of omp-package-events as package-history records it (a history_event row).
struct history_event_row {
  uint64_t package_id = 0;
  uint64_t event_id = 0;
  uint64_t package_seq = 0;
  std::string event_type; // Created | Updated | Removed
  int64_t created_us = 0; // committed by the API, microseconds since the epoch
  std::string payload;    // JSON text; empty for Removed
  std::string traceparent;
  int32_t partition = 0;
  int64_t offset = 0;
};

// A record that cannot be applied for good, kept in history_rejected.
struct rejected_row {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string error;
};

// What one transaction writes.
struct history_write {
  std::vector<history_event_row> events; // into history_event, each once (ON CONFLICT DO NOTHING)
  std::vector<history_event_row> states; // the newest event of each package, into package_state
  std::vector<rejected_row> rejected;
};

struct history_write_result {
  std::vector<uint64_t> inserted; // event ids that were not in history_event yet
  size_t states_changed = 0;      // packages whose state moved forward
};

// package-history's access to its database. Not thread-safe: one per writer.
class history_store {
public:
  explicit history_store(const store_settings& settings);

  // package id -> package_state.applied_seq, for the packages that have a state.
  std::map<uint64_t, uint64_t> applied_seqs(const std::vector<uint64_t>& package_ids);

  // Writes in one transaction: events not recorded yet, states only where they move forward
  // (an older package_seq never overwrites a newer one), rejected records once per offset.
  history_write_result write(const history_write& w);

  // Deletes history_event rows recorded more than `days` ago, at most `limit`; returns how many.
  size_t prune(int days, size_t limit);

private:
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace lpa::db
