#include "actors/retranslator/event_encoding.hpp"
#include "actors/retranslator/pipeline.hpp"

namespace lpa {

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
        // The sender answers the consumer directly.
        return self->delegate(self->state.sender, send_atom_v, std::move(records));
      },
      [=](wire_atom, sender_actor sender) {
        auto scope = probe->enter(self);
        self->state.sender = std::move(sender);
      },
  };
}

} // namespace lpa
