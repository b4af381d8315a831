#include "actors/retranslator/pipeline.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>

namespace lpa {

namespace {

using sender_ptr = sender_actor::stateful_pointer<sender_state>;

constexpr milliseconds poll_period{5};
constexpr milliseconds queue_full_pause{20};

// A message's place, packed into librdkafka's opaque pointer (no allocation to leak).
constexpr unsigned index_bits = 24; // batches stay far below 16 M records

void* to_opaque(uint64_t batch, size_t index) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>((batch << index_bits) | index));
}

std::pair<uint64_t, size_t> from_opaque(void* opaque) {
  auto raw = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(opaque));
  return {raw >> index_bits, static_cast<size_t>(raw & ((1u << index_bits) - 1))};
}

// Errors Kafka will not get over by trying again.
bool is_permanent(RdKafka::ErrorCode err) {
  switch (err) {
  case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
  case RdKafka::ERR_INVALID_MSG:
  case RdKafka::ERR_INVALID_RECORD:
  case RdKafka::ERR__INVALID_ARG:
  case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
  case RdKafka::ERR_CLUSTER_AUTHORIZATION_FAILED:
    return true;
  default:
    return false;
  }
}

// Asks for all topics: a metadata request naming the topic would make a broker that allows it
// auto-create the topic with its default partition count.
bool topic_exists(RdKafka::Producer& producer, const std::string& topic) {
  RdKafka::Metadata* raw = nullptr;
  if (producer.metadata(true, nullptr, &raw, 5000) != RdKafka::ERR_NO_ERROR)
    return false;
  std::unique_ptr<RdKafka::Metadata> metadata{raw};
  for (const auto* t : *metadata->topics())
    if (t->topic() == topic && t->err() == RdKafka::ERR_NO_ERROR)
      return true;
  return false;
}

void create_topic_if_missing(RdKafka::Producer& producer, const sender_settings& settings) {
  if (topic_exists(producer, settings.topic))
    return;
  char errstr[512];
  auto* rk = producer.c_ptr();
  auto* topic = rd_kafka_NewTopic_new(settings.topic.c_str(), settings.partitions, -1, errstr,
                                      sizeof(errstr));
  if (topic == nullptr) {
    spdlog::warn("sender: cannot describe topic {}: {}", settings.topic, errstr);
    return;
  }
  auto* queue = rd_kafka_queue_new(rk);
  auto* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, 5000, errstr, sizeof(errstr));
  rd_kafka_CreateTopics(rk, &topic, 1, options, queue);
  auto* event = rd_kafka_queue_poll(queue, 10000);
  if (event == nullptr) {
    spdlog::warn("sender: no answer creating topic {}; relying on the broker to create it",
                 settings.topic);
  } else {
    size_t count = 0;
    const auto* result = rd_kafka_event_CreateTopics_result(event);
    const auto* topics = result ? rd_kafka_CreateTopics_result_topics(result, &count) : nullptr;
    auto err = count == 1 ? rd_kafka_topic_result_error(topics[0]) : rd_kafka_event_error(event);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      spdlog::info("sender: created topic {} with {} partitions", settings.topic,
                   settings.partitions);
    else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      spdlog::warn("sender: cannot create topic {}: {}", settings.topic, rd_kafka_err2str(err));
    rd_kafka_event_destroy(event);
  }
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
}

void finish_if_done(sender_ptr self, uint64_t id, const sender_settings& settings,
                    const pipeline_metrics& metrics);
void stop_on_fatal_error(sender_ptr self);

// Produces the batch's records from `next` on, in order. A full local queue pauses the batch
// (order kept) until a retry timer resumes it.
void produce_pending(sender_ptr self, uint64_t id, const sender_settings& settings,
                     const pipeline_metrics& metrics) {
  auto& st = self->state;
  auto& b = st.batches.at(id);
  while (b.next < b.records.size()) {
    auto& r = b.records[b.next];
    auto* headers = RdKafka::Headers::create();
    for (const auto& [key, value] : r.headers)
      headers->add(key, value);
    auto err = st.producer->produce(settings.topic, RdKafka::Topic::PARTITION_UA,
                                    RdKafka::Producer::RK_MSG_COPY, r.value.data(), r.value.size(),
                                    r.key.data(), r.key.size(), 0, headers, to_opaque(id, b.next));
    if (err == RdKafka::ERR__QUEUE_FULL) {
      delete headers;
      st.producer->poll(0);
      self->delayed_send(self, queue_full_pause, retry_atom_v, id);
      return;
    }
    if (err == RdKafka::ERR__FATAL) {
      delete headers;
      stop_on_fatal_error(self);
      return;
    }
    if (err != RdKafka::ERR_NO_ERROR) {
      delete headers;
      spdlog::debug("sender: librdkafka refused event {}: {}", r.event_id, RdKafka::err2str(err));
      if (b.result.failed.empty())
        b.refusal = RdKafka::err2str(err);
      b.result.failed.push_back(r.event_id);
    } else {
      ++b.outstanding; // headers now belong to librdkafka
    }
    ++b.next;
  }
  finish_if_done(self, id, settings, metrics);
}

// Answers the batch once every record has its fate; transient failures go round again after
// an exponential backoff with jitter, in their original order.
void finish_if_done(sender_ptr self, uint64_t id, const sender_settings& settings,
                    const pipeline_metrics& metrics) {
  auto& st = self->state;
  auto& b = st.batches.at(id);
  if (b.outstanding > 0 || b.next < b.records.size())
    return;
  if (!b.retry.empty()) {
    std::sort(b.retry.begin(), b.retry.end());
    std::vector<kafka_record> again;
    for (auto i : b.retry)
      again.push_back(std::move(b.records[i]));
    b.records = std::move(again);
    b.next = 0;
    b.retry.clear();
    metrics.events_retried.Increment(static_cast<double>(b.records.size()));
    auto delay = exponential_backoff(settings.backoff_min, settings.backoff_max, b.attempt++);
    // Full jitter on top of half the delay: spreads retries of many batches.
    auto jitter = std::uniform_int_distribution<long long>(0, delay.count() / 2)(st.jitter);
    delay = delay / 2 + milliseconds{jitter};
    spdlog::warn("sender: {} event(s) not acknowledged, retry {} in {} ms", b.records.size(),
                 b.attempt, delay.count());
    self->delayed_send(self, delay, retry_atom_v, id);
    return;
  }
  metrics.send_latency.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - b.started).count());
  metrics.events_sent.Increment(static_cast<double>(b.result.delivered.size()));
  metrics.events_failed.Increment(static_cast<double>(b.result.failed.size()));
  if (!b.result.failed.empty())
    spdlog::error("sender: Kafka refused {} event(s) for good, first id {}: {}",
                  b.result.failed.size(), b.result.failed.front(), b.refusal);
  b.promise.deliver(std::move(b.result));
  st.batches.erase(id);
}

class delivery_reports : public RdKafka::DeliveryReportCb {
public:
  delivery_reports(sender_ptr self, sender_settings settings, metrics_ptr metrics)
      : self_(self), settings_(std::move(settings)), metrics_(std::move(metrics)) {}

  // Runs inside producer->poll(), on the sender's own thread.
  void dr_cb(RdKafka::Message& msg) override {
    auto [id, index] = from_opaque(msg.msg_opaque());
    auto& batches = self_->state.batches;
    auto i = batches.find(id);
    if (closing || i == batches.end())
      return;
    if (msg.err() == RdKafka::ERR__FATAL) {
      stop_on_fatal_error(self_);
      return;
    }
    auto& b = i->second;
    --b.outstanding;
    auto event_id = b.records[index].event_id;
    if (msg.err() == RdKafka::ERR_NO_ERROR) {
      b.result.delivered.push_back(event_id);
    } else if (is_permanent(msg.err())) {
      spdlog::debug("sender: Kafka refused event {}: {}", event_id, msg.errstr());
      if (b.result.failed.empty())
        b.refusal = msg.errstr();
      b.result.failed.push_back(event_id);
    } else {
      spdlog::debug("sender: event {} not acknowledged: {}", event_id, msg.errstr());
      b.retry.push_back(index);
    }
    finish_if_done(self_, id, settings_, *metrics_);
  }

  bool closing = false;

private:
  sender_ptr self_;
  sender_settings settings_;
  metrics_ptr metrics_;
};

// An idempotent producer that failed fatally refuses everything from then on: stop, so the
// supervisor starts a fresh producer and the consumers release what this one held.
void stop_on_fatal_error(sender_ptr self) {
  auto& st = self->state;
  auto* reports = static_cast<delivery_reports*>(st.reports.get());
  if (reports->closing)
    return;
  reports->closing = true;
  std::string reason;
  st.producer->fatal_error(reason);
  spdlog::error("sender: the Kafka producer failed fatally ({}); a new one takes over", reason);
  self->quit(caf::make_error(caf::sec::runtime_error));
}

} // namespace

sender_state::~sender_state() {
  if (!producer)
    return;
  // Deliver what can still be delivered, then drop the rest: the consumers release those
  // events once they learn this sender is gone.
  static_cast<delivery_reports*>(reports.get())->closing = true;
  producer->flush(2000);
  producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  producer->flush(0);
}

sender_actor::behavior_type sender(sender_ptr self, sender_settings settings, metrics_ptr metrics,
                                   actor_probe_ptr probe) {
  auto& st = self->state;
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf{RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL)};
  const std::pair<std::string, std::string> props[] = {
      {"bootstrap.servers", settings.brokers},
      {"enable.idempotence", "true"}, // keeps per-partition order across librdkafka's retries
      {"acks", "all"},
      {"linger.ms", "5"},
      {"reconnect.backoff.max.ms", "1000"}, // back within a second of the broker's return
      {"message.timeout.ms", std::to_string(settings.delivery_timeout.count())},
      {"queue.buffering.max.messages", std::to_string(settings.queue_limit)},
      {"log_level", "3"},
  };
  st.reports = std::make_unique<delivery_reports>(self, settings, metrics);
  for (const auto& [key, value] : props)
    if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK) {
      spdlog::error("sender: bad Kafka setting {}={}: {}", key, value, err);
      self->quit(caf::make_error(caf::sec::invalid_argument));
      return sender_actor::behavior_type::make_empty_behavior();
    }
  conf->set("dr_cb", st.reports.get(), err);
  st.producer.reset(RdKafka::Producer::create(conf.get(), err));
  if (!st.producer) {
    spdlog::error("sender: cannot create the Kafka producer: {}", err);
    self->quit(caf::make_error(caf::sec::runtime_error));
    return sender_actor::behavior_type::make_empty_behavior();
  }
  create_topic_if_missing(*st.producer, settings);
  self->send(self, kpoll_atom_v);
  return {
      [=](send_atom, std::vector<kafka_record>& records) -> caf::result<delivery_result> {
        auto scope = probe->enter(self);
        auto& st = self->state;
        auto id = st.next_batch++;
        auto& b = st.batches[id];
        b.records = std::move(records);
        b.started = std::chrono::steady_clock::now();
        b.promise = self->make_response_promise<delivery_result>();
        auto promise = b.promise;
        produce_pending(self, id, settings, *metrics);
        return promise;
      },
      [=](retry_atom, uint64_t id) {
        auto scope = probe->enter(self);
        if (self->state.batches.count(id) > 0)
          produce_pending(self, id, settings, *metrics);
      },
      [=](kpoll_atom) {
        auto scope = probe->enter(self);
        self->state.producer->poll(0);
        self->delayed_send(self, poll_period, kpoll_atom_v);
      },
  };
}

} // namespace lpa
