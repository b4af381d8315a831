#include "actors/history/sequencer.hpp"

namespace lpa::history {

void sequencer::add(std::vector<inbound_event> events, clock::time_point now) {
  for (auto& in : events) {
    auto& queue = packages_[in.event.package_id];
    auto key = std::make_pair(in.event.package_seq, in.event.event_id);
    auto it = queue.find(key);
    if (it != queue.end()) {
      it->second.positions.push_back(in.pos);
      continue;
    }
    queue.emplace(key, waiting_event{std::move(in.event), {in.pos}, now});
  }
}

std::vector<uint64_t> sequencer::packages() const {
  std::vector<uint64_t> out;
  out.reserve(packages_.size());
  for (const auto& [package, queue] : packages_)
    out.push_back(package);
  return out;
}

write_plan sequencer::plan(const std::map<uint64_t, uint64_t>& applied, clock::time_point now,
                           size_t max_events) const {
  write_plan plan;
  for (const auto& [package, queue] : packages_) {
    if (plan.write.events.size() >= max_events)
      break;
    auto found = applied.find(package);
    const uint64_t before = found == applied.end() ? 0 : found->second;
    uint64_t seq = before;
    const db::history_event_row* state = nullptr;
    for (const auto& [key, waiting] : queue) {
      const auto& e = waiting.event;
      if (e.package_seq > seq + 1) {
        if (now - waiting.arrived < gap_hold_)
          break; // this one and the rest of the package wait for the missing seq
        plan.gaps.push_back({package, seq + 1, e.package_seq});
      }
      if (e.package_seq <= seq) {
        plan.late.push_back(e.event_id);
      } else {
        seq = e.package_seq;
        state = &e;
      }
      plan.write.events.push_back(e);
      plan.done.insert(plan.done.end(), waiting.positions.begin(), waiting.positions.end());
      plan.batch_duplicates += waiting.positions.size() - 1;
    }
    if (state != nullptr)
      plan.write.states.push_back(*state);
  }
  return plan;
}

void sequencer::commit(const write_plan& plan) {
  for (const auto& e : plan.write.events) {
    auto it = packages_.find(e.package_id);
    if (it == packages_.end())
      continue;
    it->second.erase({e.package_seq, e.event_id});
    if (it->second.empty())
      packages_.erase(it);
  }
}

size_t sequencer::waiting() const {
  size_t n = 0;
  for (const auto& [package, queue] : packages_)
    n += queue.size();
  return n;
}

std::optional<sequencer::clock::time_point> sequencer::next_release() const {
  std::optional<clock::time_point> first;
  for (const auto& [package, queue] : packages_) {
    auto due = queue.begin()->second.arrived + gap_hold_;
    if (!first || due < *first)
      first = due;
  }
  return first;
}

} // namespace lpa::history
