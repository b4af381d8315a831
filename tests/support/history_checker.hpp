#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/topic_reader.hpp"

namespace lpa::test {

// An event the outbox committed: what the relay owes the topic.
struct committed_event {
  uint64_t event_id;
  uint64_t package_id;
  uint64_t package_seq;
};

struct history_report {
  size_t committed = 0, consumed = 0, lost = 0, duplicated = 0, reordered = 0, unknown = 0;
  // Up to 20 human-readable descriptions of lost, reordered and unknown events.
  std::vector<std::string> examples;

  // Duplicates are allowed (at-least-once delivery); loss, reordering and strangers are not.
  bool ok() const { return lost == 0 && reordered == 0 && unknown == 0; }
  // "committed 50000, consumed 50312, lost 0, duplicated 312, reordered 0, unknown 0"
  std::string summary() const;
};

// Compares what was committed with what was consumed. Per package, walking `consumed` in
// consumption order:
//  - an event whose package_seq was seen before is a duplicate;
//  - an event not seen before whose package_seq is below the highest seq seen so far for its
//    package is reordered (a gap that was filled later);
//  - a consumed event whose event_id was never committed, or whose package id or seq differ from
//    the committed event of that id, is unknown (and takes no further part in the walk);
//  - a committed event never consumed is lost.
history_report check_history(const std::vector<committed_event>& committed,
                             const std::vector<consumed_event>& consumed);

} // namespace lpa::test
