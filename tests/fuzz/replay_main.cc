// The driver that runs a fuzz target without libFuzzer (g++ builds, ctest):
// every file of the given corpus directories, then --mutations inputs made by
// a deterministic mutator from them (bit flips, byte changes, insertions,
// deletions, splices and interesting bytes), --seed fixing the sequence. A
// violated property aborts, and the input that did it is written to
// ./fuzz-crash-<target>. Bounded by count, so a run always finishes.
//
//   fuzz_<target> [--mutations=N] [--seed=S] [--max_len=L] DIR_OR_FILE...
//
// With clang (-DDSAR_FUZZ=ON, `tools/dev fuzz`) the same targets link
// libFuzzer instead and explore with coverage feedback.
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

const std::string* current = nullptr;
std::string target_name;

void SaveCurrentInput(int sig) {
  if (current != nullptr) {
    std::ofstream out("fuzz-crash-" + target_name, std::ios::binary);
    out.write(current->data(), static_cast<std::streamsize>(current->size()));
    std::fprintf(stderr, "input saved to fuzz-crash-%s (%zu bytes)\n", target_name.c_str(),
                 current->size());
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void Run(const std::string& input) {
  current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  current = nullptr;
}

std::string Mutate(const std::vector<std::string>& corpus, std::mt19937_64& rng, size_t max_len) {
  auto pick = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  std::string s = corpus.empty() ? std::string() : corpus[pick(corpus.size())];
  static const char kInteresting[] = {'\0', '\xff', '\x7f', '\x80', ':',  '-', '@', '.', '/',
                                      '"',  '\\',   '{',    '}',    '\n', ' ', '+', '0', '9'};
  const int steps = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < steps; ++i) {
    switch (pick(7)) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1:  // any byte
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
        break;
      case 2:  // insert an interesting byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pick(s.size() + 1)),
                 kInteresting[pick(sizeof kInteresting)]);
        break;
      case 3:  // delete a run
        if (!s.empty()) {
          size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<size_t>(8, s.size() - at)));
        }
        break;
      case 4:  // duplicate a run
        if (!s.empty()) {
          size_t at = pick(s.size());
          s.insert(at, s.substr(at, 1 + pick(16)));
        }
        break;
      case 5:  // splice with another corpus entry
        if (!corpus.empty()) {
          const std::string& other = corpus[pick(corpus.size())];
          s = s.substr(0, pick(s.size() + 1)) + other.substr(pick(other.size() + 1));
        }
        break;
      default:  // truncate
        s.resize(pick(s.size() + 1));
        break;
    }
  }
  if (s.size() > max_len) s.resize(max_len);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  target_name = std::filesystem::path(argv[0]).filename().string();
  long mutations = 0;
  unsigned long long seed = 1;
  size_t max_len = 4096;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--mutations=", 0) == 0) {
      mutations = std::atol(arg.c_str() + 12);
    } else if (arg.rfind("--seed=", 0) == 0) {
      seed = std::strtoull(arg.c_str() + 7, nullptr, 10);
    } else if (arg.rfind("--max_len=", 0) == 0) {
      max_len = static_cast<size_t>(std::atol(arg.c_str() + 10));
    } else if (arg.rfind("-", 0) == 0) {
      continue;  // libFuzzer flags are ignored here
    } else {
      std::vector<std::filesystem::path> files;
      if (std::filesystem::is_directory(arg)) {
        for (const auto& e : std::filesystem::directory_iterator(arg)) files.push_back(e.path());
      } else {
        files.emplace_back(arg);
      }
      for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    }
  }
  std::signal(SIGABRT, SaveCurrentInput);
  std::signal(SIGSEGV, SaveCurrentInput);
  for (const std::string& input : corpus) Run(input);
  std::mt19937_64 rng(seed);
  for (long i = 0; i < mutations; ++i) Run(Mutate(corpus, rng, max_len));
  std::cout << target_name << ": " << corpus.size() << " corpus inputs and " << mutations
            << " mutations, every property held\n";
  return 0;
}
