// retranslator: relays the outbox to Kafka. Composition root: config, logging, signals, pipeline.
#include "actors/retranslator/retranslator_service.hpp"
#include "actors/service_main.hpp"

int main(int argc, char** argv) {
  return lpa::run_pipeline_process<lpa::retranslator_service>("retranslator", argc, argv);
}
