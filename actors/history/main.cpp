// package-history: records omp-package-events in its own database. Composition root: config,
// logging, signals, the ingest pipeline, and what serves beside it.
#include "actors/history/history_service.hpp"
#include "actors/service_main.hpp"

int main(int argc, char** argv) {
  using lpa::history::history_service;
  return lpa::run_pipeline_process<history_service>(
      "package-history", argc, argv,
      [](const lpa::settings&, history_service&) -> std::shared_ptr<void> {
        // The gRPC PackageHistoryService (reading history_event) starts here.
        return nullptr;
      });
}
