#include "tests/support/child_process.hpp"

#include <catch2/catch.hpp>

#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace lpa::test {

pid_t spawn_with_settings(const std::string& bin, const std::vector<std::string>& settings) {
  std::vector<std::string> env = settings;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string{*e}.rfind("LPA_", 0) != 0)
      env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string path = bin;
  char* argv[] = {path.data(), nullptr};
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, envp.data()) == 0);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace lpa::test
