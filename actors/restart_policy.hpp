#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace lpa {

using std::chrono::milliseconds;

// min * 2^attempt, capped at max (attempt 0 -> min).
milliseconds exponential_backoff(milliseconds min, milliseconds max, uint32_t attempt);

// Decides when a failed child is restarted: exponential backoff that resets once the child has
// run stably, and an intensity limit (at most max_restarts within window; 0 = unlimited).
class restart_policy {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  restart_policy(milliseconds backoff_min, milliseconds backoff_max, size_t max_restarts,
                 milliseconds window);

  // The child started at `started` failed at `now`: the delay before restarting it, or nothing
  // when the intensity limit is exceeded and the failure must be escalated.
  std::optional<milliseconds> on_failure(time_point started, time_point now);

  size_t restarts_in_window() const { return recent_.size(); }

private:
  milliseconds backoff_min_;
  milliseconds backoff_max_;
  size_t max_restarts_;
  milliseconds window_;
  uint32_t consecutive_ = 0;
  std::deque<time_point> recent_;
};

} // namespace lpa
