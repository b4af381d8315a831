#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace RdKafka {
class KafkaConsumer;
class Message;
} // namespace RdKafka

namespace lpa::test {

// One message of the package-event topic, decoded from its value (hablof.proto.v1.PackageEvent)
// and its headers.
struct consumed_event {
  uint64_t event_id = 0;       // PackageEvent.ID
  uint64_t package_id = 0;     // PackageEvent.PackageID
  uint64_t package_seq = 0;    // header package-seq
  std::string type;            // "Created" | "Updated" | "Removed", from PackageEvent.Type
  std::string key;             // message key as is
  std::string traceparent;     // header traceparent, empty when absent
  std::string payload;         // PackageEvent.Payload
  int64_t created_unix_us = 0; // PackageEvent.Created
  int32_t partition = -1;
  int64_t offset = -1;
  // Contract violations of this message: undecodable value, missing or malformed headers, a key
  // other than the package id, an event-id/event-type header disagreeing with the value.
  std::vector<std::string> errors;
};

// Decodes one message; never throws (problems land in consumed_event::errors). Non-const only
// because RdKafka::Message::headers() is.
consumed_event decode_event(RdKafka::Message& message);

// A continuous reader of one topic from its beginning: every partition is assigned manually at
// the earliest offset (no consumer group join, so no rebalance delay), and partitions that appear
// later (topic created after the reader, or grown) are picked up. Not thread-safe.
class topic_reader {
public:
  topic_reader(const std::string& bootstrap, const std::string& topic);
  ~topic_reader();
  topic_reader(const topic_reader&) = delete;
  topic_reader& operator=(const topic_reader&) = delete;

  // Reads until done(everything consumed so far) holds or the timeout passes, and returns
  // everything consumed so far (also what earlier calls returned), in consumption order: per
  // partition in offset order, partitions interleaved.
  std::vector<consumed_event>
  read_until(const std::function<bool(const std::vector<consumed_event>&)>& done,
             std::chrono::milliseconds timeout);

  // Everything consumed so far.
  const std::vector<consumed_event>& events() const { return events_; }
  // Contract violations of the messages consumed so far ("p1@17: no package-seq header").
  const std::vector<std::string>& errors() const { return errors_; }
  // Errors the client reported (mostly transient, e.g. a broker connection dropped).
  const std::vector<std::string>& client_errors() const { return client_errors_; }

private:
  void refresh_partitions();

  std::string topic_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::map<int32_t, int64_t> next_offset_; // assigned partition -> offset to resume from
  std::chrono::steady_clock::time_point next_refresh_{};
  std::vector<consumed_event> events_;
  std::vector<std::string> errors_;
  std::vector<std::string> client_errors_;
};

} // namespace lpa::test
