#include "config/startup.hpp"

#include <csignal>
#include <cstdlib>
#include <memory>
#include <pthread.h>

namespace lpa {

std::string config_path(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string{argv[i]} == "--config")
      return argv[i + 1];
  if (const char* env = std::getenv("LPA_CONFIG"))
    return env;
  return "config/config.yaml";
}

std::function<int()> block_stop_signals() {
  auto signals = std::make_shared<sigset_t>();
  sigemptyset(signals.get());
  sigaddset(signals.get(), SIGINT);
  sigaddset(signals.get(), SIGTERM);
  pthread_sigmask(SIG_BLOCK, signals.get(), nullptr);
  return [signals] {
    int sig = 0;
    sigwait(signals.get(), &sig);
    return sig;
  };
}

} // namespace lpa
