#pragma once

// The retranslator's stages: what each needs to be spawned. The supervisor
// (retranslator_supervisor.hpp) wires them together.

#include "actors/actor_probe.hpp"
#include "actors/restart_policy.hpp"
#include "actors/retranslator/pipeline_metrics.hpp"
#include "actors/retranslator/protocol.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>

namespace lpa {

using metrics_ptr = std::shared_ptr<pipeline_metrics>;

// -- CleanerActor -----------------------------------------------------------------------------

struct cleaner_settings {
  size_t batch = 100;            // flush at this many events ...
  milliseconds interval{50};     // ... or this long after the first one waits
  milliseconds backoff_min{100}; // between attempts after a failed flush
  milliseconds backoff_max{10000};
  uint32_t max_attempts = 5; // then the waiters get an error; their leases expire
};

// Applies outcomes in one statement / releases an owner's events (a db::outbox_session in
// production, fakes in unit tests).
using clean_fn = std::function<db::clean_result(const std::vector<db::outbox_outcome>&)>;
using release_fn = std::function<size_t(const std::string& owner)>;

struct cleaner_state {
  struct waiting {
    db::outbox_outcome outcome;
    caf::typed_response_promise<bool> promise;
  };
  std::vector<waiting> pending;
  size_t pending_events = 0;
  bool flush_scheduled = false;
  uint32_t failed_attempts = 0;
  static inline const char* name = "cleaner";
};

cleaner_actor::behavior_type cleaner(cleaner_actor::stateful_pointer<cleaner_state> self,
                                     cleaner_settings settings, clean_fn apply, release_fn release,
                                     metrics_ptr metrics, actor_probe_ptr probe);

// -- ProducerActor ----------------------------------------------------------------------------

struct producer_state {
  sender_actor sender;
  static inline const char* name = "producer";
};

producer_actor::behavior_type producer(producer_actor::stateful_pointer<producer_state> self,
                                       actor_probe_ptr probe);

// -- SenderActor --------------------------------------------------------------------------------

struct sender_settings {
  std::string brokers;
  std::string topic;
  int partitions = 6;
  milliseconds delivery_timeout{30000};
  milliseconds backoff_min{100};
  milliseconds backoff_max{10000};
  size_t queue_limit = 100000; // librdkafka queue.buffering.max.messages (>= the window)
};

struct sender_state {
  struct batch {
    std::vector<kafka_record> records;
    size_t next = 0;           // records[next..] still to be produced (order kept)
    size_t outstanding = 0;    // produced, report pending
    uint32_t attempt = 0;      // failed rounds so far, for the backoff
    std::vector<size_t> retry; // indexes that failed transiently in this round
    delivery_result result;
    std::string refusal; // Kafka's reason for the first event it refused for good
    std::chrono::steady_clock::time_point started;
    caf::typed_response_promise<delivery_result> promise;
  };
  ~sender_state();
  std::unique_ptr<RdKafka::DeliveryReportCb> reports;
  std::unique_ptr<RdKafka::Producer> producer;
  std::map<uint64_t, batch> batches;
  uint64_t next_batch = 0;
  std::mt19937 jitter{std::random_device{}()};
  static inline const char* name = "sender";
};

// Owns the librdkafka producer (idempotent, acks=all) and polls it from a timer, so delivery
// reports run on this actor's thread. Spawn detached: produce() and flush() may block.
sender_actor::behavior_type sender(sender_actor::stateful_pointer<sender_state> self,
                                   sender_settings settings, metrics_ptr metrics,
                                   actor_probe_ptr probe);

// -- ConsumerActor ----------------------------------------------------------------------------

struct consumer_settings {
  std::string name;
  std::string owner; // locked_by of its claims: unique per incarnation
  size_t batch = 100;
  size_t credit = 500; // its share of retranslator.window
  milliseconds lease{30000};
  milliseconds poll_interval{1000};
  milliseconds send_timeout{60000}; // a batch not answered by then is released
  milliseconds clean_timeout{30000};
  milliseconds backoff_min{100};
  milliseconds backoff_max{10000};
  uint32_t clean_attempts = 5;
};

// The outbox as a consumer uses it (a db::outbox_session in production, fakes in unit tests).
struct consumer_outbox {
  std::function<std::vector<db::outbox_event>(const std::string& owner, size_t limit,
                                              milliseconds lease)>
      claim;
  std::function<size_t(const std::string& owner, const std::vector<uint64_t>& ids,
                       milliseconds lease)>
      renew;
  release_fn release;
};

struct consumer_state {
  std::vector<producer_actor> producers;
  cleaner_actor cleaner;
  size_t next_producer = 0;
  std::map<uint64_t, std::vector<uint64_t>> sending; // batch -> ids at the producer/sender
  std::map<uint64_t, db::outbox_outcome> cleaning;   // batch -> outcome at the cleaner
  std::map<uint64_t, uint32_t> clean_attempts;       // batch -> failed clean requests
  size_t in_flight = 0;
  uint64_t next_batch = 1;
  bool draining = false;
  uint32_t claim_failures = 0;
  uint32_t refusals = 0; // batches in a row in which Kafka refused events for good
  std::vector<caf::typed_response_promise<bool>> drained;
  std::shared_ptr<std::atomic<int64_t>> in_flight_shared; // read by the supervisor on death
  static inline const char* name = "consumer";
};

consumer_actor::behavior_type consumer(consumer_actor::stateful_pointer<consumer_state> self,
                                       consumer_settings settings, consumer_outbox outbox,
                                       std::shared_ptr<std::atomic<int64_t>> in_flight,
                                       metrics_ptr metrics, actor_probe_ptr probe);

// -- Listener -----------------------------------------------------------------------------------

struct listener_state {
  std::unique_ptr<db::outbox_session> db;
  std::vector<consumer_actor> consumers;
  std::chrono::steady_clock::time_point next_age_sample;
  static inline const char* name = "listener";
};

listener_actor::behavior_type listener(listener_actor::stateful_pointer<listener_state> self,
                                       db::store_settings store, milliseconds poll_interval,
                                       metrics_ptr metrics, actor_probe_ptr probe);

} // namespace lpa
