// package-history: records omp-package-events in its own database and serves its history.
// Composition root: config, logging, signals, and the service.
#include "actors/history/history_service.hpp"
#include "actors/service_main.hpp"

int main(int argc, char** argv) {
  return lpa::run_pipeline_process<lpa::history::history_service>("package-history", argc, argv);
}
