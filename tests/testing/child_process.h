// ChildProcess: runs a real binary (dsard, refbackend) for end-to-end tests,
// with its stderr readable line by line so tests synchronise on what the
// process says (e.g. the "server_listening" log line) instead of sleeping.
#ifndef DSAR_TESTS_TESTING_CHILD_PROCESS_H_
#define DSAR_TESTS_TESTING_CHILD_PROCESS_H_

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

namespace dsar::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`; stdout and stderr both go to one pipe.
  explicit ChildProcess(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      // Dies with the test, so an aborted test leaves no server behind.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~ChildProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (fd_ >= 0) close(fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Next output line, or nullopt at end of output.
  std::optional<std::string> ReadLine() {
    for (;;) {
      auto pos = buffer_.find('\n');
      if (pos != std::string::npos) {
        std::string line = buffer_.substr(0, pos);
        buffer_.erase(0, pos + 1);
        output_ += line + "\n";
        return line;
      }
      char chunk[4096];
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (buffer_.empty()) return std::nullopt;
        std::string line = std::move(buffer_);
        buffer_.clear();
        output_ += line;
        return line;
      }
      buffer_.append(chunk, n);
    }
  }

  // Reads lines until one contains `needle`; returns it, or nullopt at EOF.
  std::optional<std::string> WaitForLine(const std::string& needle) {
    while (auto line = ReadLine()) {
      if (line->find(needle) != std::string::npos) return line;
    }
    return std::nullopt;
  }

  // Reads all remaining output, then reaps the process. Returns the exit code,
  // or 128+signal when killed.
  int Wait() {
    while (ReadLine()) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
  }

  void Signal(int sig) { kill(pid_, sig); }
  // Everything read so far.
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool exited_ = false;
  std::string buffer_;
  std::string output_;
};

}  // namespace dsar::testing

#endif  // DSAR_TESTS_TESTING_CHILD_PROCESS_H_
