#include "tests/support/history_checker.hpp"

#include <unordered_map>
#include <unordered_set>

namespace lpa::test {

namespace {

constexpr size_t max_examples = 20;

std::string describe(uint64_t event_id, uint64_t package_id, uint64_t package_seq) {
  return "event " + std::to_string(event_id) + " (package " + std::to_string(package_id) + " seq "
         + std::to_string(package_seq) + ")";
}

std::string where(const consumed_event& ev) {
  return "p" + std::to_string(ev.partition) + "@" + std::to_string(ev.offset);
}

struct package_state {
  std::unordered_set<uint64_t> seen_seqs;
  uint64_t highest_seq = 0;
};

} // namespace

std::string history_report::summary() const {
  return "committed " + std::to_string(committed) + ", consumed " + std::to_string(consumed)
         + ", lost " + std::to_string(lost) + ", duplicated " + std::to_string(duplicated)
         + ", reordered " + std::to_string(reordered) + ", unknown " + std::to_string(unknown);
}

history_report check_history(const std::vector<committed_event>& committed,
                             const std::vector<consumed_event>& consumed) {
  history_report report;
  report.committed = committed.size();
  report.consumed = consumed.size();
  auto example = [&report](std::string text) {
    if (report.examples.size() < max_examples)
      report.examples.push_back(std::move(text));
  };

  std::unordered_map<uint64_t, const committed_event*> by_id;
  by_id.reserve(committed.size());
  for (const committed_event& ev : committed)
    by_id.emplace(ev.event_id, &ev);

  std::unordered_set<uint64_t> delivered_ids;
  std::unordered_map<uint64_t, package_state> packages;
  for (const consumed_event& ev : consumed) {
    auto it = by_id.find(ev.event_id);
    if (it == by_id.end()) {
      ++report.unknown;
      example("unknown " + describe(ev.event_id, ev.package_id, ev.package_seq) + " at " + where(ev)
              + ": never committed");
      continue;
    }
    const committed_event& expected = *it->second;
    if (expected.package_id != ev.package_id || expected.package_seq != ev.package_seq) {
      ++report.unknown;
      example("unknown " + describe(ev.event_id, ev.package_id, ev.package_seq) + " at " + where(ev)
              + ": committed as "
              + describe(expected.event_id, expected.package_id, expected.package_seq));
      continue;
    }
    delivered_ids.insert(ev.event_id);

    package_state& package = packages[ev.package_id];
    if (!package.seen_seqs.insert(ev.package_seq).second) {
      ++report.duplicated;
      continue;
    }
    if (ev.package_seq < package.highest_seq) {
      ++report.reordered;
      example("reordered " + describe(ev.event_id, ev.package_id, ev.package_seq) + " at "
              + where(ev) + ": after seq " + std::to_string(package.highest_seq));
    } else {
      package.highest_seq = ev.package_seq;
    }
  }

  for (const committed_event& ev : committed) {
    if (delivered_ids.count(ev.event_id) == 0) {
      ++report.lost;
      example("lost " + describe(ev.event_id, ev.package_id, ev.package_seq));
    }
  }
  return report;
}

} // namespace lpa::test
