#include "tests/support/mock_kafka.hpp"

#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace lpa::test {

namespace {

// RD_KAFKAP_Produce from librdkafka's rdkafka_protocol.h, which is not installed.
constexpr int16_t produce_api_key = 0;

void check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("mock_kafka: " + what + ": " + rd_kafka_err2str(err));
}

} // namespace

mock_kafka::mock_kafka(int brokers) : brokers_(brokers) {
  if (brokers < 1)
    throw std::invalid_argument("mock_kafka: needs at least one broker");
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle is only the cluster's bookkeeping: it never connects, so keep it quiet.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("mock_kafka: rd_kafka_new: ") + errstr);
  }
  cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  if (cluster_ == nullptr) {
    rd_kafka_destroy(handle_);
    throw std::runtime_error("mock_kafka: rd_kafka_mock_cluster_new failed");
  }
}

mock_kafka::~mock_kafka() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

std::string mock_kafka::bootstrap() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

void mock_kafka::create_topic(const std::string& topic, int partitions) {
  check(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, std::min(brokers_, 3)),
        "creating topic " + topic);
}

int mock_kafka::partition_count(const std::string& topic) const {
  char errstr[512];
  auto* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), errstr, sizeof(errstr));
  auto* client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (client == nullptr)
    throw std::runtime_error(std::string{"mock_kafka: "} + errstr);
  const rd_kafka_metadata_t* metadata = nullptr;
  int count = 0;
  // All topics: asking for one by name would auto-create it.
  if (rd_kafka_metadata(client, 1, nullptr, &metadata, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < metadata->topic_cnt; ++i)
      if (topic == metadata->topics[i].topic)
        count = metadata->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(metadata);
  }
  rd_kafka_destroy(client);
  return count;
}

void mock_kafka::set_down(bool down) {
  for (int32_t id = 1; id <= brokers_; ++id) {
    if (down)
      check(rd_kafka_mock_broker_set_down(cluster_, id), "taking broker down");
    else
      check(rd_kafka_mock_broker_set_up(cluster_, id), "bringing broker up");
  }
}

void mock_kafka::fail_produce(int count, rd_kafka_resp_err_t err) {
  if (count <= 0)
    return;
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count), err);
  rd_kafka_mock_push_request_errors_array(cluster_, produce_api_key, errors.size(), errors.data());
}

} // namespace lpa::test
