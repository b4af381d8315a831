#include "actors/repo/repo_metrics.hpp"

namespace lpa {

namespace {

const prometheus::Histogram::BucketBoundaries queue_wait_buckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

} // namespace

repo_metrics::repo_metrics(prometheus::Registry& registry)
    : queue_wait(prometheus::BuildHistogram()
                     .Name("logistic_package_api_repo_queue_wait_seconds")
                     .Help("Time a request waited for its RepoActor: from the supervisor's "
                           "hand-over to the start of its transaction (write) or read (read)")
                     .Register(registry)),
      group_size(
          prometheus::BuildHistogram()
              .Name("logistic_package_api_repo_group_size")
              .Help("Writes per transaction of a writing RepoActor (group commit)")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256})),
      write_queue_wait(queue_wait.Add({{"kind", "write"}}, queue_wait_buckets)),
      read_queue_wait(queue_wait.Add({{"kind", "read"}}, queue_wait_buckets)) {}

} // namespace lpa
