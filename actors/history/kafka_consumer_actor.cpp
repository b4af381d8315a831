#include "actors/history/kafka_consumer_actor.hpp"

#include "actors/history/offset_tracker.hpp"
#include "actors/history/record_decoding.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

namespace lpa::history {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds idle_poll_period{5};
constexpr auto lag_sample_period = std::chrono::seconds{1};
constexpr auto error_log_interval = std::chrono::seconds{30};
constexpr int seek_timeout_ms = 2000;
// librdkafka 2.0 aborts when a cooperative-sticky consumer is destroyed before its first
// assignment (confluentinc/librdkafka#4312, fixed in 2.3): a consumer stopped that early waits
// this long for it first.
constexpr auto first_assignment_wait = std::chrono::seconds{15};

class kafka_callbacks;

struct consumer_state {
  ~consumer_state();
  consumer_settings settings;
  metrics_ptr metrics;
  std::unique_ptr<kafka_callbacks> callbacks;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  offset_tracker offsets;
  std::vector<writer_actor> writers;
  bool paused = false;
  bool assigned_once = false; // the group gave it an assignment (possibly empty)
  std::chrono::steady_clock::time_point next_lag_sample{};
  std::chrono::steady_clock::time_point next_error_log{};
  size_t errors_since_log = 0;
  static inline const char* name = "kafka-consumer";
};

using consumer_ptr = consumer_actor::stateful_pointer<consumer_state>;

using partition_list = std::vector<RdKafka::TopicPartition*>;

// Owns the TopicPartition objects of a list.
struct owned_partitions {
  partition_list list;
  ~owned_partitions() { RdKafka::TopicPartition::destroy(list); }
};

std::string names(const partition_list& partitions) {
  std::string out;
  for (const auto* p : partitions)
    out += (out.empty() ? "" : ",") + std::to_string(p->partition());
  return out;
}

// Stores the offsets up to which every record was committed by a writer.
void store_offsets(consumer_state& st) {
  owned_partitions tps;
  for (const auto& [partition, offset] : st.offsets.take_committable())
    tps.list.push_back(RdKafka::TopicPartition::create(st.settings.topic, partition, offset));
  if (tps.list.empty())
    return;
  if (auto err = st.consumer->offsets_store(tps.list); err != RdKafka::ERR_NO_ERROR)
    spdlog::debug("kafka-consumer: storing offsets: {}", RdKafka::err2str(err));
}

void set_in_flight(consumer_state& st) {
  st.metrics->records_in_flight.Set(static_cast<double>(st.offsets.in_flight()));
}

class kafka_callbacks : public RdKafka::RebalanceCb, public RdKafka::EventCb {
public:
  explicit kafka_callbacks(consumer_state& st) : st_(st) {}

  // Called from consume() on the consumer's thread.
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    partition_list& partitions) override {
    const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
    st_.metrics->rebalances.Increment();
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      st_.assigned_once = true;
      for (const auto* p : partitions)
        st_.offsets.assign(p->partition());
      if (cooperative)
        delete consumer->incremental_assign(partitions);
      else
        consumer->assign(partitions);
      if (st_.paused) // partitions join paused while the consumer is out of credit
        consumer->pause(partitions);
      st_.metrics->partitions_assigned.Set(static_cast<double>(st_.offsets.partitions()));
      spdlog::info("kafka-consumer: assigned partitions [{}] of {}", names(partitions),
                   st_.settings.topic);
      return;
    }
    // Revoked (or lost): what is in flight there is read again by the next owner.
    store_offsets(st_);
    size_t dropped = 0;
    for (const auto* p : partitions)
      dropped += st_.offsets.revoke(p->partition());
    set_in_flight(st_);
    st_.metrics->partitions_assigned.Set(static_cast<double>(st_.offsets.partitions()));
    if (cooperative)
      delete consumer->incremental_unassign(partitions);
    else
      consumer->unassign();
    spdlog::info("kafka-consumer: partitions [{}] revoked ({}), {} record(s) in flight there are "
                 "read again by their next owner",
                 names(partitions), RdKafka::err2str(err), dropped);
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() != RdKafka::Event::EVENT_ERROR)
      return;
    st_.metrics->kafka_errors.Increment();
    auto now = std::chrono::steady_clock::now();
    ++st_.errors_since_log;
    if (event.fatal() || now >= st_.next_error_log) {
      spdlog::warn("kafka-consumer: Kafka: {} ({} error(s) since the last report)", event.str(),
                   st_.errors_since_log);
      st_.errors_since_log = 0;
      st_.next_error_log = now + error_log_interval;
    }
  }

private:
  consumer_state& st_;
};

consumer_state::~consumer_state() {
  if (!consumer)
    return;
  // Records polled meanwhile are dropped: their offsets are not stored, so they are read again.
  auto until = std::chrono::steady_clock::now() + first_assignment_wait;
  while (!assigned_once && std::chrono::steady_clock::now() < until)
    delete consumer->consume(100);
  // Commits the stored offsets and leaves the group, so the partitions move at once.
  consumer->close();
}

std::unique_ptr<RdKafka::KafkaConsumer> make_consumer(consumer_state& st) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf{RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL)};
  const std::pair<std::string, std::string> props[] = {
      {"bootstrap.servers", st.settings.brokers},
      {"group.id", st.settings.group},
      {"partition.assignment.strategy", "cooperative-sticky"},
      // Offsets are stored by hand, after the database commit; librdkafka commits what is stored.
      {"enable.auto.offset.store", "false"},
      {"enable.auto.commit", "true"},
      {"auto.commit.interval.ms", "1000"},
      {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      {"reconnect.backoff.max.ms", "1000"},
      {"log_level", "3"},
  };
  for (const auto& [key, value] : props)
    if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK)
      throw std::runtime_error("bad Kafka setting " + key + "=" + value + ": " + err);
  RdKafka::RebalanceCb* rebalance = st.callbacks.get();
  RdKafka::EventCb* events = st.callbacks.get();
  conf->set("rebalance_cb", rebalance, err);
  conf->set("event_cb", events, err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer{RdKafka::KafkaConsumer::create(conf.get(), err)};
  if (!consumer)
    throw std::runtime_error("cannot create the Kafka consumer: " + err);
  if (auto e = consumer->subscribe({st.settings.topic}); e != RdKafka::ERR_NO_ERROR)
    throw std::runtime_error("cannot subscribe to " + st.settings.topic + ": "
                             + RdKafka::err2str(e));
  return consumer;
}

db::rejected_row raw_record(const consumer_state& st, RdKafka::Message& msg) {
  db::rejected_row raw;
  raw.topic = st.settings.topic;
  raw.partition = msg.partition();
  raw.offset = msg.offset();
  if (msg.key())
    raw.key = *msg.key();
  raw.value.assign(static_cast<const char*>(msg.payload()), msg.len());
  if (auto* headers = msg.headers())
    for (const auto& h : headers->get_all())
      raw.headers.emplace_back(h.key(), std::string{static_cast<const char*>(h.value()),
                                                    h.value() ? h.value_size() : 0});
  return raw;
}

// The one place a record that cannot be applied leaves the normal path: today it is kept in
// history_rejected (by the writer, in the transaction of its batch, so its offset is stored
// only once it is kept). Retry topics and the dead-letter topic (issue 10, parts 4 and 5)
// replace this hand-off.
void hand_off_failed(db::rejected_row raw, const record_pos& pos, std::vector<ingest_batch>& out) {
  spdlog::error("kafka-consumer: record {}@{} cannot be applied: {}", pos.partition, pos.offset,
                raw.error);
  out[static_cast<size_t>(pos.partition) % out.size()].rejected.push_back({pos, std::move(raw)});
}

void route(consumer_state& st, RdKafka::Message& msg, std::vector<ingest_batch>& out) {
  record_pos pos{msg.partition(), msg.offset()};
  st.offsets.consumed(pos);
  st.metrics->records_consumed.Increment();
  auto raw = raw_record(st, msg);
  try {
    auto event = decode_record(raw);
    out[event.package_id % out.size()].events.push_back({pos, std::move(event)});
  } catch (const decode_error& e) {
    raw.error = e.what();
    hand_off_failed(std::move(raw), pos, out);
  }
}

void pause_all(consumer_state& st) {
  owned_partitions assigned;
  st.consumer->assignment(assigned.list);
  st.consumer->pause(assigned.list);
  st.paused = true;
  st.metrics->partitions_paused.Set(1);
  st.metrics->pauses.Increment();
  spdlog::debug("kafka-consumer: {} records in flight: pausing partitions [{}]",
                st.offsets.in_flight(), names(assigned.list));
}

// A pause dropped what librdkafka had prefetched: seek each partition to the record after the
// last one consumed, then resume.
void resume_all(consumer_state& st) {
  for (const auto& [partition, offset] : st.offsets.positions()) {
    if (!st.offsets.assigned(partition))
      continue;
    std::unique_ptr<RdKafka::TopicPartition> tp{
        RdKafka::TopicPartition::create(st.settings.topic, partition, offset)};
    if (auto err = st.consumer->seek(*tp, seek_timeout_ms); err != RdKafka::ERR_NO_ERROR)
      spdlog::debug("kafka-consumer: seek {}@{}: {}", partition, offset, RdKafka::err2str(err));
  }
  owned_partitions assigned;
  st.consumer->assignment(assigned.list);
  st.consumer->resume(assigned.list);
  st.paused = false;
  st.metrics->partitions_paused.Set(0);
  spdlog::debug("kafka-consumer: credit back: resumed partitions [{}]", names(assigned.list));
}

void sample_lag(consumer_state& st) {
  auto now = std::chrono::steady_clock::now();
  if (now < st.next_lag_sample)
    return;
  st.next_lag_sample = now + lag_sample_period;
  int64_t lag = 0;
  for (const auto& [partition, next] : st.offsets.positions()) {
    int64_t low = 0, high = 0;
    if (st.consumer->get_watermark_offsets(st.settings.topic, partition, &low, &high)
            == RdKafka::ERR_NO_ERROR
        && high > next)
      lag += high - next;
  }
  st.metrics->consumer_lag.Set(static_cast<double>(lag));
}

bool writers_up(const consumer_state& st) {
  if (st.writers.empty())
    return false;
  for (const auto& w : st.writers)
    if (!w)
      return false;
  return true;
}

// Reads up to batch_max records (at least one poll, which also serves rebalances, even out of
// credit) and hands them to the writers.
void poll(consumer_ptr self) {
  auto& st = self->state;
  if (!writers_up(st)) {
    self->delayed_send(self, idle_poll_period, kpoll_atom_v);
    return;
  }
  std::vector<ingest_batch> out(st.writers.size());
  size_t n = 0;
  while (n < st.settings.batch_max && (n == 0 || st.offsets.in_flight() < st.settings.window)) {
    std::unique_ptr<RdKafka::Message> msg{st.consumer->consume(0)};
    if (msg->err() == RdKafka::ERR__TIMED_OUT)
      break;
    if (msg->err() == RdKafka::ERR__PARTITION_EOF)
      continue;
    if (msg->err() != RdKafka::ERR_NO_ERROR) {
      st.metrics->kafka_errors.Increment();
      spdlog::debug("kafka-consumer: {}", msg->errstr());
      break;
    }
    route(st, *msg, out);
    ++n;
  }
  commit_sink sink = caf::actor_cast<commit_sink>(self);
  for (size_t i = 0; i < out.size(); ++i)
    if (!out[i].events.empty() || !out[i].rejected.empty())
      self->send(st.writers[i], apply_atom_v, std::move(out[i]), sink);
  set_in_flight(st);
  if (!st.paused && st.offsets.in_flight() >= st.settings.window)
    pause_all(st);
  sample_lag(st);
  if (n == st.settings.batch_max && !st.paused)
    self->send(self, kpoll_atom_v);
  else
    self->delayed_send(self, idle_poll_period, kpoll_atom_v);
}

void on_committed(consumer_ptr self, const std::vector<record_pos>& positions) {
  auto& st = self->state;
  for (const auto& pos : positions)
    st.offsets.committed(pos);
  store_offsets(st);
  set_in_flight(st);
  if (st.paused && st.offsets.in_flight() <= st.settings.window / 2)
    resume_all(st);
}

void rewind(consumer_ptr self) {
  auto& st = self->state;
  auto targets = st.offsets.rewind();
  for (const auto& [partition, offset] : targets) {
    std::unique_ptr<RdKafka::TopicPartition> tp{
        RdKafka::TopicPartition::create(st.settings.topic, partition, offset)};
    if (auto err = st.consumer->seek(*tp, seek_timeout_ms); err != RdKafka::ERR_NO_ERROR)
      spdlog::warn("kafka-consumer: seek {}@{}: {}", partition, offset, RdKafka::err2str(err));
  }
  set_in_flight(st);
  spdlog::warn("kafka-consumer: a writer stopped with records in flight: reading {} partition(s) "
               "again from their oldest uncommitted record",
               targets.size());
  if (st.paused)
    resume_all(st);
}

consumer_actor::behavior_type kafka_consumer(consumer_ptr self, consumer_settings settings,
                                             metrics_ptr metrics, actor_probe_ptr probe) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.metrics = std::move(metrics);
  st.callbacks = std::make_unique<kafka_callbacks>(st);
  try {
    st.consumer = make_consumer(st);
  } catch (const std::exception& e) {
    spdlog::error("kafka-consumer: {}", e.what());
    self->quit(caf::make_error(caf::sec::runtime_error));
    return consumer_actor::behavior_type::make_empty_behavior();
  }
  self->send(self, kpoll_atom_v);
  return {
      [=](committed_atom, const std::vector<record_pos>& positions) {
        auto scope = probe->enter(self);
        on_committed(self, positions);
      },
      [=](kpoll_atom) {
        auto scope = probe->enter(self);
        poll(self);
      },
      [=](wire_atom, std::vector<writer_actor>& writers) {
        auto scope = probe->enter(self);
        self->state.writers = std::move(writers);
      },
      [=](rewind_atom) {
        auto scope = probe->enter(self);
        rewind(self);
      },
  };
}

} // namespace

consumer_actor spawn_kafka_consumer(caf::actor_system& sys, consumer_settings settings,
                                    metrics_ptr metrics, actor_probe_ptr probe) {
  return sys.spawn<caf::detached>(kafka_consumer, std::move(settings), std::move(metrics),
                                  std::move(probe));
}

} // namespace lpa::history
