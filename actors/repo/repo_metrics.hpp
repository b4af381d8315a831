#pragma once

#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

namespace lpa {

// What the RepoActors measure of their own work, served with the API's metrics:
//   logistic_package_api_repo_group_size               writes per transaction (group commit);
//   logistic_package_api_repo_queue_wait_seconds{kind} from the supervisor's hand-over to the
//     start of the write's transaction (kind="write") or of the read (kind="read").
struct repo_metrics {
  explicit repo_metrics(prometheus::Registry& registry);

  prometheus::Family<prometheus::Histogram>& queue_wait; // holds the two by kind below
  prometheus::Histogram& group_size;
  prometheus::Histogram& write_queue_wait;
  prometheus::Histogram& read_queue_wait;
};

using repo_metrics_ptr = std::shared_ptr<repo_metrics>;

} // namespace lpa
