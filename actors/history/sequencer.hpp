#pragma once

#include "actors/history/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace lpa::history {

// One event a gap held back and then let through.
struct released_gap {
  uint64_t package_id = 0;
  uint64_t expected_seq = 0; // the package_seq that never came
  uint64_t seq = 0;          // the event applied in its place
};

// What one transaction of a writer does, and what follows from it.
struct write_plan {
  db::history_write write;        // events (each event id once) and the packages' new states
  std::vector<record_pos> done;   // every record this plan covers, duplicates included
  std::vector<uint64_t> late;     // event ids at or below their package's applied seq
  size_t batch_duplicates = 0;    // records collapsed into an event already planned or waiting
  std::vector<released_gap> gaps; // gaps given up on (applied after waiting gap_hold)

  bool empty() const { return done.empty(); }
};

// A writer's events between arrival and commit, ordered per package by package_seq. It plans
// what to write, given each package's applied seq from the database:
//  - an event id seen twice (in one batch, or again while the first is still waiting) is written
//    once, and both records count as done with it;
//  - an event at or below the package's applied seq is recorded in history, the state is left;
//  - the next seq is recorded and becomes the state;
//  - after a gap (seq n+2 while n is applied), the event and everything after it in its package
//    wait, up to gap_hold after that event arrived; then the gap is given up on and they apply.
// Pure: no clock, no database, so it can be tested alone.
class sequencer {
public:
  using clock = std::chrono::steady_clock;

  explicit sequencer(std::chrono::milliseconds gap_hold) : gap_hold_(gap_hold) {}

  // Adds a batch; a record of an event already waiting joins it.
  void add(std::vector<inbound_event> events, clock::time_point now);

  // Packages with waiting events: their applied seqs are the input of plan().
  std::vector<uint64_t> packages() const;

  // Plans up to about `max_events` events (whole packages), given applied seqs (a package
  // missing from `applied` has none). Nothing changes until commit(plan).
  write_plan plan(const std::map<uint64_t, uint64_t>& applied, clock::time_point now,
                  size_t max_events) const;

  // The plan was committed: its events stop waiting.
  void commit(const write_plan& plan);

  size_t waiting() const;
  // Right after a commit, what still waits is held back by gaps: when the first of them may go
  // (its gap_hold ends); nothing when nothing waits.
  std::optional<clock::time_point> next_release() const;

private:
  struct waiting_event {
    db::history_event_row event;
    std::vector<record_pos> positions; // the records that carried it
    clock::time_point arrived;
  };
  // package id -> its waiting events by (package_seq, event_id)
  using package_queue = std::map<std::pair<uint64_t, uint64_t>, waiting_event>;

  std::chrono::milliseconds gap_hold_;
  std::map<uint64_t, package_queue> packages_;
};

} // namespace lpa::history
