#include "actors/history/offset_tracker.hpp"

namespace lpa::history {

void offset_tracker::assign(int32_t partition) {
  partitions_.emplace(partition, partition_state{});
}

size_t offset_tracker::revoke(int32_t partition) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end())
    return 0;
  auto n = it->second.in_flight.size();
  in_flight_ -= n;
  partitions_.erase(it);
  return n;
}

void offset_tracker::consumed(const record_pos& pos) {
  auto& p = partitions_[pos.partition];
  if (p.in_flight.insert(pos.offset).second)
    ++in_flight_;
  if (!p.next || *p.next < pos.offset + 1)
    p.next = pos.offset + 1;
}

bool offset_tracker::committed(const record_pos& pos) {
  auto it = partitions_.find(pos.partition);
  if (it == partitions_.end() || it->second.in_flight.erase(pos.offset) == 0)
    return false;
  --in_flight_;
  return true;
}

std::optional<int64_t> offset_tracker::committable(const partition_state& p) const {
  if (!p.in_flight.empty())
    return *p.in_flight.begin();
  return p.next;
}

offset_tracker::offset_list offset_tracker::take_committable() {
  offset_list out;
  for (auto& [partition, p] : partitions_) {
    auto upto = committable(p);
    if (upto && (!p.stored || *upto > *p.stored)) {
      p.stored = upto;
      out.emplace_back(partition, *upto);
    }
  }
  return out;
}

offset_tracker::offset_list offset_tracker::rewind() {
  offset_list out;
  for (auto& [partition, p] : partitions_) {
    if (p.in_flight.empty())
      continue;
    auto oldest = *p.in_flight.begin();
    out.emplace_back(partition, oldest);
    in_flight_ -= p.in_flight.size();
    p.in_flight.clear();
    p.next = oldest;
  }
  return out;
}

offset_tracker::offset_list offset_tracker::positions() const {
  offset_list out;
  for (const auto& [partition, p] : partitions_)
    if (p.next)
      out.emplace_back(partition, *p.next);
  return out;
}

} // namespace lpa::history
