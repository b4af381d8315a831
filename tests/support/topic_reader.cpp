#include "tests/support/topic_reader.hpp"

#include <librdkafka/rdkafkacpp.h>

#include "kafka_proto.pb.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <optional>
#include <random>
#include <stdexcept>

#include <unistd.h>

namespace lpa::test {

namespace {

namespace pb = hablof::proto::v1;
using clock_type = std::chrono::steady_clock;

std::optional<std::string> header(RdKafka::Message& message, const std::string& name) {
  const RdKafka::Headers* headers = message.headers();
  if (headers == nullptr)
    return std::nullopt;
  RdKafka::Headers::Header h = headers->get_last(name);
  if (h.err() != RdKafka::ERR_NO_ERROR)
    return std::nullopt;
  if (h.value() == nullptr)
    return std::string{};
  return std::string(static_cast<const char*>(h.value()), h.value_size());
}

std::optional<uint64_t> parse_decimal(const std::string& text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end)
    return std::nullopt;
  return value;
}

std::string unique_group_id() {
  static std::atomic<unsigned> counter{0};
  std::random_device random;
  return "lpa-topic-reader-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-"
         + std::to_string(random());
}

void set(RdKafka::Conf& conf, const std::string& name, const std::string& value) {
  std::string errstr;
  if (conf.set(name, value, errstr) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("topic_reader: " + name + ": " + errstr);
}

} // namespace

consumed_event decode_event(RdKafka::Message& message) {
  consumed_event ev;
  ev.partition = message.partition();
  ev.offset = message.offset();
  if (const std::string* key = message.key())
    ev.key = *key;

  pb::PackageEvent value;
  if (!value.ParseFromArray(message.payload(), static_cast<int>(message.len()))) {
    ev.errors.push_back("value is not a PackageEvent");
  } else {
    ev.event_id = value.id();
    ev.package_id = value.packageid();
    ev.type = pb::EventType_Name(value.type());
    ev.payload = value.payload();
    ev.created_unix_us = value.created().seconds() * 1000000 + value.created().nanos() / 1000;
    if (message.key() == nullptr)
      ev.errors.push_back("no key");
    else if (ev.key != std::to_string(ev.package_id))
      ev.errors.push_back("key '" + ev.key + "' is not package id "
                          + std::to_string(ev.package_id));
  }

  if (auto id = header(message, "event-id"); !id)
    ev.errors.push_back("no event-id header");
  else if (auto parsed = parse_decimal(*id); !parsed)
    ev.errors.push_back("event-id header '" + *id + "' is not a decimal number");
  else if (*parsed != ev.event_id)
    ev.errors.push_back("event-id header " + *id + " differs from value ID "
                        + std::to_string(ev.event_id));

  if (auto type = header(message, "event-type"); !type)
    ev.errors.push_back("no event-type header");
  else if (*type != ev.type)
    ev.errors.push_back("event-type header '" + *type + "' differs from value type '" + ev.type
                        + "'");

  if (auto seq = header(message, "package-seq"); !seq)
    ev.errors.push_back("no package-seq header");
  else if (auto parsed = parse_decimal(*seq); !parsed || *parsed == 0)
    ev.errors.push_back("package-seq header '" + *seq + "' is not a positive decimal number");
  else
    ev.package_seq = *parsed;

  if (auto traceparent = header(message, "traceparent"))
    ev.traceparent = *traceparent;
  return ev;
}

topic_reader::topic_reader(const std::string& bootstrap, const std::string& topic) : topic_(topic) {
  std::unique_ptr<RdKafka::Conf> conf{RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL)};
  set(*conf, "bootstrap.servers", bootstrap);
  // KafkaConsumer insists on a group id; partitions are assigned by hand, so the group is never
  // joined, and nothing is committed to it.
  set(*conf, "group.id", unique_group_id());
  set(*conf, "enable.auto.commit", "false");
  set(*conf, "enable.auto.offset.store", "false");
  set(*conf, "auto.offset.reset", "earliest");
  set(*conf, "allow.auto.create.topics", "false");
  set(*conf, "fetch.wait.max.ms", "100");
  // Come back quickly after a broker outage (the default backs off up to 10 s).
  set(*conf, "reconnect.backoff.ms", "50");
  set(*conf, "reconnect.backoff.max.ms", "500");
  set(*conf, "log_level", "3");
  std::string errstr;
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), errstr));
  if (!consumer_)
    throw std::runtime_error("topic_reader: creating consumer: " + errstr);
}

topic_reader::~topic_reader() {
  if (consumer_)
    consumer_->close();
}

void topic_reader::refresh_partitions() {
  std::string errstr;
  std::unique_ptr<RdKafka::Topic> handle{
      RdKafka::Topic::create(consumer_.get(), topic_, nullptr, errstr)};
  if (!handle) {
    client_errors_.push_back("topic handle: " + errstr);
    return;
  }
  RdKafka::Metadata* raw = nullptr;
  if (consumer_->metadata(false, handle.get(), &raw, 1000) != RdKafka::ERR_NO_ERROR)
    return; // cluster unreachable for now: try again later
  std::unique_ptr<RdKafka::Metadata> metadata{raw};

  std::vector<int32_t> partitions;
  for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
    if (t->topic() != topic_ || t->err() != RdKafka::ERR_NO_ERROR)
      continue;
    for (const RdKafka::PartitionMetadata* p : *t->partitions())
      partitions.push_back(p->id());
  }
  bool grown = false;
  for (int32_t p : partitions) {
    if (next_offset_.emplace(p, RdKafka::Topic::OFFSET_BEGINNING).second)
      grown = true;
  }
  if (!grown)
    return;

  // Re-assign everything, resuming each known partition right after its last consumed message,
  // so nothing is skipped or read twice.
  std::vector<RdKafka::TopicPartition*> assignment;
  for (const auto& [partition, offset] : next_offset_)
    assignment.push_back(RdKafka::TopicPartition::create(topic_, partition, offset));
  RdKafka::ErrorCode err = consumer_->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (err != RdKafka::ERR_NO_ERROR)
    client_errors_.push_back("assign: " + RdKafka::err2str(err));
}

std::vector<consumed_event>
topic_reader::read_until(const std::function<bool(const std::vector<consumed_event>&)>& done,
                         std::chrono::milliseconds timeout) {
  using std::chrono::milliseconds;
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (done(events_))
      return events_;
    auto now = clock_type::now();
    if (now >= deadline)
      return events_;
    if (now >= next_refresh_) {
      refresh_partitions();
      // Until the topic shows up, look for it often; afterwards only for new partitions.
      next_refresh_
          = clock_type::now() + (next_offset_.empty() ? milliseconds(100) : milliseconds(2000));
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
    int wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 100));
    std::unique_ptr<RdKafka::Message> message{consumer_->consume(wait_ms)};
    switch (message->err()) {
    case RdKafka::ERR_NO_ERROR: {
      if (message->topic_name() != topic_)
        break;
      consumed_event ev = decode_event(*message);
      next_offset_[ev.partition] = ev.offset + 1;
      for (const std::string& e : ev.errors)
        errors_.push_back("p" + std::to_string(ev.partition) + "@" + std::to_string(ev.offset)
                          + ": " + e);
      events_.push_back(std::move(ev));
      break;
    }
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__PARTITION_EOF:
      break;
    default:
      // Mostly transient (a broker went away; the client reconnects by itself).
      client_errors_.push_back("consume: " + message->errstr());
      break;
    }
  }
}

} // namespace lpa::test
