#include "actors/actor_probe.hpp"

namespace lpa {

actor_probes::actor_probes(prometheus::Registry& registry)
    : mailbox_(prometheus::BuildGauge()
                   .Name("logistic_package_api_actor_mailbox_depth")
                   .Help("Messages waiting in the actor's mailbox, sampled when it handles one")
                   .Register(registry)),
      processed_(prometheus::BuildCounter()
                     .Name("logistic_package_api_actor_messages_processed_total")
                     .Help("Messages the actor handled")
                     .Register(registry)),
      busy_seconds_(prometheus::BuildCounter()
                        .Name("logistic_package_api_actor_processing_seconds_total")
                        .Help("Time the actor spent in its handlers")
                        .Register(registry)),
      restarts_(prometheus::BuildCounter()
                    .Name("logistic_package_api_actor_restarts_total")
                    .Help("Times the actor's supervisor restarted it")
                    .Register(registry)) {}

actor_probe_ptr actor_probes::make(const std::string& actor_name) {
  prometheus::Labels labels{{"actor", actor_name}};
  return std::make_shared<actor_probe>(mailbox_.Add(labels), processed_.Add(labels),
                                       busy_seconds_.Add(labels), restarts_.Add(labels));
}

} // namespace lpa
