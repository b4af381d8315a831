#include "actors/retranslator/producer_actor.hpp"

#include "actors/retranslator/event_encoding.hpp"

namespace lpa {

namespace {

struct producer_state {
  sender_actor sender;
  static inline const char* name = "producer";
};

producer_actor::behavior_type producer(producer_actor::stateful_pointer<producer_state> self,
                                       actor_probe_ptr probe) {
  return {
      [=](encode_atom, const event_batch& batch) -> caf::result<delivery_result> {
        auto scope = probe->enter(self);
        if (!self->state.sender)
          return caf::make_error(caf::sec::invalid_argument); // not wired yet: the batch fails
        std::vector<kafka_record> records;
        records.reserve(batch.events.size());
        for (const auto& event : batch.events)
          records.push_back(encode(event));
        return self->delegate(self->state.sender, send_atom_v, std::move(records));
      },
      [=](wire_atom, sender_actor sender) {
        auto scope = probe->enter(self);
        self->state.sender = std::move(sender);
      },
  };
}

} // namespace

producer_actor spawn_producer(caf::actor_system& sys, actor_probe_ptr probe) {
  return sys.spawn(producer, std::move(probe));
}

} // namespace lpa
