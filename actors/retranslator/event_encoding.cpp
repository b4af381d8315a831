#include "actors/retranslator/event_encoding.hpp"

#include "kafka_proto.pb.h"

namespace lpa {

namespace {

hablof::proto::v1::EventType event_type(const std::string& type) {
  if (type == "Updated")
    return hablof::proto::v1::Updated;
  if (type == "Removed")
    return hablof::proto::v1::Removed;
  return hablof::proto::v1::Created;
}

} // namespace

kafka_record encode(const batch_event& e) {
  const auto& event = e.event;
  hablof::proto::v1::PackageEvent value;
  value.set_id(event.id);
  value.set_packageid(event.package_id);
  value.set_type(event_type(event.type));
  auto seconds = event.created_us / 1000000;
  auto micros = event.created_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  value.mutable_created()->set_seconds(seconds);
  value.mutable_created()->set_nanos(static_cast<int32_t>(micros * 1000));
  value.set_payload(event.payload);

  kafka_record record;
  record.event_id = event.id;
  record.slot = event.slot;
  record.round = e.round;
  record.index = e.index;
  record.key = std::to_string(event.package_id);
  record.value = value.SerializeAsString();
  record.headers = {{header_event_id, std::to_string(event.id)},
                    {header_event_type, event.type},
                    {header_package_seq, std::to_string(event.package_seq)}};
  if (!event.traceparent.empty())
    record.headers.emplace_back(header_traceparent, event.traceparent);
  return record;
}

} // namespace lpa
