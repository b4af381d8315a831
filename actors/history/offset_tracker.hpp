#pragma once

#include "actors/history/protocol.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace lpa::history {

// The consumer's bookkeeping of its partitions: which records are in flight (consumed, not yet
// committed by a writer), and how far each partition may be committed: up to its oldest record
// in flight, or up to everything consumed when nothing is in flight. Pure, so it can be tested
// alone.
class offset_tracker {
public:
  using offset_list = std::vector<std::pair<int32_t, int64_t>>; // (partition, offset)

  void assign(int32_t partition);
  // Forgets the partition; returns how many records in flight it had (their credit returns).
  size_t revoke(int32_t partition);

  // The record was consumed and handed to a writer.
  void consumed(const record_pos& pos);
  // A writer committed the record; true when it was in flight (its credit returns). A report
  // of a record consumed again since (after a rewind) also counts: it is in the database.
  bool committed(const record_pos& pos);

  // Partitions whose committable offset moved since the last call, with the offset to store
  // (the next record to read after a restart).
  offset_list take_committable();

  // Everything in flight is to be read again: the partitions that had records in flight, each
  // with its oldest such offset to seek to; they are no longer in flight.
  offset_list rewind();

  // Where each partition continues (after its last consumed record), for partitions that
  // consumed something; a seek there before resuming re-reads what a pause dropped.
  offset_list positions() const;

  size_t in_flight() const { return in_flight_; }
  bool assigned(int32_t partition) const { return partitions_.count(partition) > 0; }
  size_t partitions() const { return partitions_.size(); }

private:
  struct partition_state {
    std::set<int64_t> in_flight;
    std::optional<int64_t> next;   // after the last consumed record
    std::optional<int64_t> stored; // last offset handed to take_committable
  };
  std::optional<int64_t> committable(const partition_state& p) const;

  std::map<int32_t, partition_state> partitions_;
  size_t in_flight_ = 0;
};

} // namespace lpa::history
