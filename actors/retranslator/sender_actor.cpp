#include "actors/retranslator/sender_actor.hpp"

#include "actors/retranslator/event_encoding.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <optional>

namespace lpa {

namespace {

constexpr milliseconds poll_period{5};
constexpr milliseconds queue_full_pause{20};
constexpr auto error_log_interval = std::chrono::seconds{30};

// A message's place, packed into librdkafka's opaque pointer (no allocation to leak).
constexpr unsigned index_bits = 24; // batches stay far below 16 M records

void* to_opaque(uint64_t batch, size_t index) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>((batch << index_bits) | index));
}

std::pair<uint64_t, size_t> from_opaque(void* opaque) {
  auto raw = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(opaque));
  return {raw >> index_bits, static_cast<size_t>(raw & ((1u << index_bits) - 1))};
}

struct pending_batch {
  std::vector<kafka_record> records;
  size_t next = 0;        // records[next..] are not produced yet (order kept)
  size_t outstanding = 0; // produced, report pending
  std::vector<bool> decided;
  delivery_result result;
  std::chrono::steady_clock::time_point started;
  caf::typed_response_promise<delivery_result> promise;
  std::optional<tracing::span> span;
};

// The records of a slot's round that reached the sender so far.
struct round_progress {
  uint64_t round = 0;
  uint64_t next_index = 0;
};

class kafka_callbacks;

struct sender_state {
  ~sender_state();
  sender_settings settings;
  metrics_ptr metrics;
  tracing::tracer_ptr tracer;
  std::unique_ptr<kafka_callbacks> callbacks;
  std::unique_ptr<RdKafka::Producer> producer;
  std::map<uint64_t, pending_batch> batches;
  std::deque<uint64_t> to_produce;            // batches with records not produced yet, in order
  std::map<uint32_t, uint64_t> failed_round;  // slot -> the latest round with a failed record
  std::map<uint32_t, round_progress> arrived; // slot -> the latest round seen, and how far
  uint64_t next_batch = 1;
  bool paused = false; // librdkafka's queue was full: a retry timer resumes
  bool fatal = false;  // the producer failed fatally: replaced at the next poll
  std::chrono::steady_clock::time_point next_error_log{};
  size_t errors_since_log = 0;
  static inline const char* name = "sender";
};

using sender_ptr = sender_actor::stateful_pointer<sender_state>;

void on_report(sender_ptr self, uint64_t batch, size_t index, RdKafka::ErrorCode err,
               const std::string& reason);

// Delivery reports and client errors, both called from producer->poll() on the sender's thread.
class kafka_callbacks : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
public:
  explicit kafka_callbacks(sender_ptr self) : self_(self) {}

  void dr_cb(RdKafka::Message& msg) override {
    auto [batch, index] = from_opaque(msg.msg_opaque());
    on_report(self_, batch, index, msg.err(), msg.errstr());
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() != RdKafka::Event::EVENT_ERROR)
      return;
    auto& st = self_->state;
    st.metrics->kafka_errors.Increment();
    if (event.fatal())
      st.fatal = true;
    // Broker down, connection refused: logged at most every 30 s with a count.
    auto now = std::chrono::steady_clock::now();
    ++st.errors_since_log;
    if (event.fatal() || now >= st.next_error_log) {
      spdlog::warn("sender: Kafka: {} ({} error(s) since the last report)", event.str(),
                   st.errors_since_log);
      st.errors_since_log = 0;
      st.next_error_log = now + error_log_interval;
    }
  }

private:
  sender_ptr self_;
};

bool round_failed(const sender_state& st, const kafka_record& r) {
  auto it = st.failed_round.find(r.slot);
  return it != st.failed_round.end() && r.round <= it->second;
}

void fail_round(sender_state& st, const kafka_record& r) {
  auto& round = st.failed_round[r.slot];
  round = std::max(round, r.round);
}

// Records reach the sender in their slot's order, unless a batch was lost on the way with a
// stage that died (a producer, or a sender before this one): then the next record that arrives
// is not the next of its round, and the round fails as if that batch had been refused. A record
// of a round older than one already seen is stale (its slot started over) and fails as well.
void check_arrival(sender_state& st, const kafka_record& r) {
  auto& seen = st.arrived[r.slot];
  if (r.round > seen.round)
    seen = {r.round, 0};
  if (r.round == seen.round && r.index == seen.next_index) {
    ++seen.next_index;
    return;
  }
  if (r.round == seen.round && !round_failed(st, r))
    spdlog::warn("sender: slot {}: record {} of its round arrived while {} was expected; an "
                 "earlier batch was lost on the way, the slot sends again from there",
                 r.slot, r.index, seen.next_index);
  fail_round(st, r);
}

tracing::span start_batch_span(const sender_state& st, uint64_t id,
                               const std::vector<kafka_record>& records) {
  auto span = st.tracer->start_span("send package events", tracing::span_kind::producer);
  span.set_attribute("messaging.system", std::string{"kafka"});
  span.set_attribute("messaging.destination.name", st.settings.topic);
  span.set_attribute("messaging.batch.message_count", static_cast<int64_t>(records.size()));
  std::vector<std::string> traceparents;
  for (const auto& r : records)
    for (const auto& [key, value] : r.headers)
      if (key == header_traceparent)
        traceparents.push_back(value);
  auto trace_ids = tracing::link_traces(span, traceparents);
  spdlog::debug("sender: batch {} of {} events (trace {}) carries traces [{}]", id, records.size(),
                span.trace_id_hex(), trace_ids);
  return span;
}

void end_batch_span(pending_batch& b) {
  if (!b.span)
    return;
  b.span->set_attribute("delivered", static_cast<int64_t>(b.result.delivered.size()));
  b.span->set_attribute("refused", static_cast<int64_t>(b.result.refused.size()));
  b.span->set_attribute("released", static_cast<int64_t>(b.result.released.size()));
  if (!b.result.refused.empty())
    b.span->set_status(tracing::status_code::error, "Kafka refused events");
  b.span->end();
}

void finish_if_done(sender_ptr self, uint64_t id) {
  auto& st = self->state;
  auto it = st.batches.find(id);
  if (it == st.batches.end())
    return;
  auto& b = it->second;
  if (b.outstanding > 0 || b.next < b.records.size())
    return;
  st.metrics->send_latency.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - b.started).count());
  st.metrics->events_sent.Increment(static_cast<double>(b.result.delivered.size()));
  st.metrics->events_failed.Increment(static_cast<double>(b.result.refused.size()));
  end_batch_span(b);
  b.promise.deliver(std::move(b.result));
  st.batches.erase(it);
}

void decide(pending_batch& b, size_t index, std::vector<uint64_t> delivery_result::*outcome) {
  if (b.decided[index])
    return;
  b.decided[index] = true;
  (b.result.*outcome).push_back(b.records[index].event_id);
}

void on_report(sender_ptr self, uint64_t id, size_t index, RdKafka::ErrorCode err,
               const std::string& reason) {
  auto& st = self->state;
  auto it = st.batches.find(id);
  if (it == st.batches.end())
    return;
  auto& b = it->second;
  --b.outstanding;
  const auto& record = b.records[index];
  if (err == RdKafka::ERR_NO_ERROR) {
    decide(b, index, &delivery_result::delivered);
  } else if (err == RdKafka::ERR__PURGE_QUEUE || err == RdKafka::ERR__PURGE_INFLIGHT
             || err == RdKafka::ERR__DESTROY) {
    fail_round(st, record); // lost with a producer that is being replaced
    decide(b, index, &delivery_result::released);
  } else {
    spdlog::error("sender: Kafka refused event {} (slot {}): {}", record.event_id, record.slot,
                  reason);
    fail_round(st, record);
    decide(b, index, &delivery_result::refused);
  }
  finish_if_done(self, id);
}

std::unique_ptr<RdKafka::Producer> make_producer(sender_ptr self) {
  auto& st = self->state;
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf{RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL)};
  const std::pair<std::string, std::string> props[] = {
      {"bootstrap.servers", st.settings.brokers},
      // Idempotent: per-partition order across librdkafka's own retries, acks=all.
      {"enable.idempotence", "true"},
      // A failure that could leave a gap in a partition is fatal instead: nothing produced after
      // a failed record is delivered.
      {"enable.gapless.guarantee", "true"},
      // Never give up on a message while Kafka is merely down: the window bounds what waits.
      {"message.timeout.ms", "0"},
      {"linger.ms", "5"},
      {"reconnect.backoff.max.ms", "1000"}, // back within a second of the broker's return
      {"queue.buffering.max.messages", std::to_string(st.settings.queue_limit)},
      {"log_level", "3"},
  };
  for (const auto& [key, value] : props)
    if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK)
      throw std::runtime_error("bad Kafka setting " + key + "=" + value + ": " + err);
  RdKafka::DeliveryReportCb* reports = st.callbacks.get();
  RdKafka::EventCb* events = st.callbacks.get();
  conf->set("dr_cb", reports, err);
  conf->set("event_cb", events, err);
  std::unique_ptr<RdKafka::Producer> producer{RdKafka::Producer::create(conf.get(), err)};
  if (!producer)
    throw std::runtime_error("cannot create the Kafka producer: " + err);
  return producer;
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

// Drops whatever the producer still holds (its reports come back as purged) and releases every
// record that never got a report.
void purge_producer(sender_ptr self) {
  auto& st = self->state;
  st.producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  st.producer->poll(0);
  st.producer.reset();
  std::vector<uint64_t> ids;
  for (auto& [id, b] : st.batches) {
    for (size_t i = 0; i < b.next; ++i)
      if (!b.decided[i]) {
        fail_round(st, b.records[i]);
        decide(b, i, &delivery_result::released);
      }
    b.outstanding = 0;
    ids.push_back(id);
  }
  for (auto id : ids)
    finish_if_done(self, id);
}

void produce_pending(sender_ptr self);

// The producer failed fatally and refuses everything from now on: replace it. What it held is
// released (its slots send again from there); the failed record itself was reported refused.
void replace_producer(sender_ptr self) {
  auto& st = self->state;
  std::string reason;
  st.producer->fatal_error(reason);
  spdlog::error("sender: the Kafka producer failed fatally ({}); replacing it", reason);
  st.metrics->producer_resets.Increment();
  purge_producer(self);
  st.fatal = false;
  st.producer = make_producer(self);
  produce_pending(self);
}

// Produces queued records strictly in arrival order. A full local queue pauses everything
// behind it until a retry timer resumes.
void produce_pending(sender_ptr self) {
  auto& st = self->state;
  while (!st.to_produce.empty() && !st.paused && !st.fatal) {
    auto id = st.to_produce.front();
    auto& b = st.batches.at(id);
    while (b.next < b.records.size()) {
      auto& r = b.records[b.next];
      if (round_failed(st, r)) {
        decide(b, b.next++, &delivery_result::released);
        continue;
      }
      auto* headers = RdKafka::Headers::create();
      for (const auto& [key, value] : r.headers)
        headers->add(key, value);
      auto err
          = st.producer->produce(st.settings.topic, RdKafka::Topic::PARTITION_UA,
                                 RdKafka::Producer::RK_MSG_COPY, r.value.data(), r.value.size(),
                                 r.key.data(), r.key.size(), 0, headers, to_opaque(id, b.next));
      if (err == RdKafka::ERR_NO_ERROR) {
        ++b.outstanding; // the headers belong to librdkafka now
        ++b.next;
        continue;
      }
      delete headers;
      if (err == RdKafka::ERR__QUEUE_FULL) {
        st.paused = true;
        st.producer->poll(0);
        self->delayed_send(self, queue_full_pause, retry_atom_v);
        return;
      }
      if (err == RdKafka::ERR__FATAL) {
        st.fatal = true;
        return; // replaced at the next poll; this record goes out with the new producer
      }
      spdlog::error("sender: librdkafka refused event {} (slot {}): {}", r.event_id, r.slot,
                    RdKafka::err2str(err));
      fail_round(st, r);
      decide(b, b.next++, &delivery_result::refused);
    }
    st.to_produce.pop_front();
    finish_if_done(self, id);
  }
}

sender_state::~sender_state() {
  if (!producer)
    return;
  // Deliver what can still be delivered, then drop the rest: the consumers hear that this
  // sender is gone and send those events again.
  producer->flush(2000);
  producer->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  batches.clear(); // reports of purged messages find nothing to update
  producer->flush(0);
}

sender_actor::behavior_type sender(sender_ptr self, sender_settings settings, metrics_ptr metrics,
                                   actor_probe_ptr probe, tracing::tracer_ptr tracer) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.metrics = std::move(metrics);
  st.tracer = std::move(tracer);
  st.callbacks = std::make_unique<kafka_callbacks>(self);
  try {
    st.producer = make_producer(self);
  } catch (const std::exception& e) {
    spdlog::error("sender: {}", e.what());
    self->quit(caf::make_error(caf::sec::runtime_error));
    return sender_actor::behavior_type::make_empty_behavior();
  }
  create_topic_if_missing(*st.producer, st.settings);
  self->send(self, kpoll_atom_v);
  return {
      [=](send_atom, std::vector<kafka_record>& records) -> caf::result<delivery_result> {
        auto scope = probe->enter(self);
        auto& st = self->state;
        auto id = st.next_batch++;
        auto& b = st.batches[id];
        b.span.emplace(start_batch_span(st, id, records));
        b.decided.assign(records.size(), false);
        b.records = std::move(records);
        for (const auto& r : b.records)
          check_arrival(st, r);
        b.started = std::chrono::steady_clock::now();
        b.promise = self->make_response_promise<delivery_result>();
        auto promise = b.promise;
        st.to_produce.push_back(id);
        produce_pending(self);
        return promise;
      },
      [=](retry_atom) {
        auto scope = probe->enter(self);
        self->state.paused = false;
        produce_pending(self);
      },
      [=](kpoll_atom) {
        auto scope = probe->enter(self);
        self->state.producer->poll(0);
        if (self->state.fatal)
          replace_producer(self);
        self->delayed_send(self, poll_period, kpoll_atom_v);
      },
  };
}

} // namespace

sender_actor spawn_sender(caf::actor_system& sys, sender_settings settings, metrics_ptr metrics,
                          actor_probe_ptr probe, tracing::tracer_ptr tracer) {
  return sys.spawn<caf::detached>(sender, std::move(settings), std::move(metrics), std::move(probe),
                                  std::move(tracer));
}

} // namespace lpa
