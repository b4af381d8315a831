#pragma once

#include <string>

#include <librdkafka/rdkafka.h>

struct rd_kafka_mock_cluster_s;

namespace lpa::test {

// An in-process Kafka cluster for tests: librdkafka's mock cluster, with brokers 1..N listening
// on loopback ports of its own choosing. Clients connect to bootstrap() like to a real cluster.
// Topics are auto-created on first use (4 partitions) unless create_topic() made them first.
// Destroy clients before the cluster (declare the cluster first).
class mock_kafka {
public:
  explicit mock_kafka(int brokers = 1);
  ~mock_kafka();
  mock_kafka(const mock_kafka&) = delete;
  mock_kafka& operator=(const mock_kafka&) = delete;

  // "127.0.0.1:PORT,..." — the bootstrap.servers of the cluster.
  std::string bootstrap() const;
  int brokers() const { return brokers_; }

  // Creates the topic with a replication factor of min(brokers, 3); throws on failure.
  void create_topic(const std::string& topic, int partitions);

  // The topic's partition count as the cluster reports it to a client; 0 if it has no such
  // topic.
  int partition_count(const std::string& topic) const;

  // Takes every broker down (drops its connections and refuses new ones) or brings it back.
  // Takes effect before the call returns. Partition leadership does not move.
  void set_down(bool down);

  // The next `count` Produce requests, to any broker, fail with `err` (for a retriable error
  // such as RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION the producer retries; for
  // RD_KAFKA_RESP_ERR__TRANSPORT the broker drops the connection instead of answering).
  void fail_produce(int count, rd_kafka_resp_err_t err);

  rd_kafka_mock_cluster_s* native() const { return cluster_; }

private:
  int brokers_;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
};

} // namespace lpa::test
