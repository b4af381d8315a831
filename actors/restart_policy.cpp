#include "actors/restart_policy.hpp"

#include <algorithm>

namespace lpa {

milliseconds exponential_backoff(milliseconds min, milliseconds max, uint32_t attempt) {
  auto delay = min;
  for (uint32_t i = 0; i < attempt && delay < max; ++i)
    delay *= 2;
  return std::min(delay, max);
}

restart_policy::restart_policy(milliseconds backoff_min, milliseconds backoff_max,
                               size_t max_restarts, milliseconds window)
    : backoff_min_(backoff_min), backoff_max_(backoff_max), max_restarts_(max_restarts),
      window_(window) {}

std::optional<milliseconds> restart_policy::on_failure(time_point started, time_point now) {
  while (!recent_.empty() && now - recent_.front() > window_)
    recent_.pop_front();
  if (max_restarts_ > 0 && recent_.size() >= max_restarts_)
    return std::nullopt;
  recent_.push_back(now);
  // A child that ran for longer than the longest backoff was healthy: start over from min.
  if (now - started > backoff_max_)
    consecutive_ = 0;
  return exponential_backoff(backoff_min_, backoff_max_, consecutive_++);
}

} // namespace lpa
