#include "actors/retranslator/slot_assignment.hpp"

#include <algorithm>

namespace lpa {

size_t fair_share(size_t slot_count, size_t live) {
  live = std::max<size_t>(live, 1);
  return (slot_count + live - 1) / live;
}

rebalance_plan rebalance(const std::vector<db::slot_lease>& held, size_t slot_count, size_t live) {
  rebalance_plan plan;
  auto share = fair_share(slot_count, live);
  if (held.size() < share) {
    plan.acquire = share - held.size();
  } else if (held.size() > share) {
    auto sorted = held;
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.slot > b.slot; });
    plan.release.assign(sorted.begin(), sorted.begin() + static_cast<long>(held.size() - share));
  }
  return plan;
}

std::vector<std::vector<db::slot_lease>> split_among(const std::vector<db::slot_lease>& held,
                                                     size_t consumers) {
  std::vector<std::vector<db::slot_lease>> out(std::max<size_t>(consumers, 1));
  for (const auto& lease : held)
    out[lease.slot % out.size()].push_back(lease);
  for (auto& slots : out)
    std::sort(slots.begin(), slots.end(),
              [](const auto& a, const auto& b) { return a.slot < b.slot; });
  return out;
}

} // namespace lpa
