#include "tests/support/api_fixture.hpp"

#include "config/logging.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lpa::test {

settings test_settings(const std::string& dsn) {
  settings cfg;
  cfg.grpc.host = cfg.status.host = cfg.metrics.host = cfg.rest.host = "127.0.0.1";
  cfg.grpc.port = cfg.status.port = cfg.metrics.port = cfg.rest.port = 0;
  cfg.grpc.shutdown_grace = 2s;
  cfg.db.dsn = dsn;
  cfg.log.level = "warn";
  return cfg;
}

void export_spans_to(settings& cfg, const std::string& endpoint) {
  cfg.tracing.otlp_endpoint = endpoint;
  cfg.tracing.batch_size = 1;
}

api_fixture::api_fixture(const std::function<void(settings&)>& adjust)
    : pg(shared_postgres()), cfg(test_settings(pg.dsn())), db(pg.dsn()) {
  if (adjust)
    adjust(cfg);
  log::setup("lpa-test", cfg.log.level);
  server = std::make_unique<api_server>(cfg, [] { return false; });
  {
    pqxx::work tx{db};
    tx.exec0("TRUNCATE package, package_event, idempotency_key RESTART IDENTITY");
    tx.commit();
  }
  channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->grpc_port()),
                                grpc::InsecureChannelCredentials());
  stub = v1::LogisticPackageApiService::NewStub(channel);
}

api_fixture::~api_fixture() {
  server->shutdown();
}

uint64_t api_fixture::create(const std::string& title, const std::string& material, float volume,
                             bool reusable) {
  v1::CreatePackageV1Request req;
  req.set_title(title);
  req.set_material(material);
  req.set_maximumvolume(volume);
  req.set_reusable(reusable);
  v1::CreatePackageV1Response rep;
  auto status = call(&v1::LogisticPackageApiService::Stub::CreatePackageV1, req, &rep);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return rep.id();
}

long long api_fixture::count(const std::string& table, const std::string& where) {
  pqxx::read_transaction tx{db};
  return tx.exec1("SELECT count(*) FROM " + table + " WHERE " + where)[0].as<long long>();
}

namespace {

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

// "HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\nbody"
http_reply parse_reply(const std::string& response) {
  http_reply reply;
  reply.status = std::stoi(response.substr(response.find(' ') + 1, 3));
  auto head_end = response.find("\r\n\r\n");
  auto head = response.substr(0, head_end);
  for (size_t at = head.find("\r\n"); at != std::string::npos;) {
    auto next = head.find("\r\n", at + 2);
    auto line = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos)
      reply.headers[lowercase(line.substr(0, colon))]
          = line.substr(line.find_first_not_of(' ', colon + 1));
    at = next;
  }
  reply.body = head_end == std::string::npos ? "" : response.substr(head_end + 4);
  return reply;
}

} // namespace

http_reply http_request(int port, const std::string& method, const std::string& path,
                        const std::string& body,
                        const std::map<std::string, std::string>& headers) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  // A stopped (SIGSTOP) server accepts but never answers: fail instead of hanging the test.
  timeval limit{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to port " + std::to_string(port));
  }
  auto request = method + " " + path + " HTTP/1.0\r\nHost: localhost\r\n";
  for (const auto& [name, value] : headers)
    request += name + ": " + value + "\r\n";
  if (!body.empty())
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size())
               + "\r\n";
  request += "\r\n" + body;
  if (::send(fd, request.data(), request.size(), 0) < 0) {
    ::close(fd);
    throw std::runtime_error("cannot send HTTP request");
  }
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;)
    response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (response.empty())
    throw std::runtime_error("no HTTP answer from port " + std::to_string(port));
  return parse_reply(response);
}

std::string http_get(int port, const std::string& path, int& status) {
  auto reply = http_request(port, "GET", path);
  status = reply.status;
  return reply.body;
}

double metric_value(const std::string& body, const std::string& series) {
  auto at = body.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
}

bool await_metric(int port, const std::string& series, const std::function<bool(double)>& holds,
                  std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  do {
    int status = 0;
    auto body = http_get(port, "/metrics", status);
    if (status == 200 && holds(metric_value(body, series)))
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50}); // polling: no event to await
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

} // namespace lpa::test
