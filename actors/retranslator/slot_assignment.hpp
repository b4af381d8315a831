#pragma once

// Which slots a retranslator holds and which of its consumers reads each: pure functions, so the
// rules can be tested without a database.

#include "db/outbox_store.hpp"

#include <cstddef>
#include <vector>

namespace lpa {

// The slots one of `live` retranslators should hold: ceil(slot_count / live), so that together
// they cover every slot.
size_t fair_share(size_t slot_count, size_t live);

// What a retranslator does at a heartbeat to move toward its fair share.
struct rebalance_plan {
  size_t acquire = 0;                  // free or expired slots to take
  std::vector<db::slot_lease> release; // slots to hand over (the highest numbers)
};

rebalance_plan rebalance(const std::vector<db::slot_lease>& held, size_t slot_count, size_t live);

// The slots each of `consumers` consumers reads: slot % consumers, so a slot stays with the
// same consumer (and so the same ordered path to Kafka) for as long as it is held.
std::vector<std::vector<db::slot_lease>> split_among(const std::vector<db::slot_lease>& held,
                                                     size_t consumers);

} // namespace lpa
