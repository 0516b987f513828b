// DESIGN.md's first rule: the protocol core in stack/ touches no socket, thread, clock, Asio or
// ns-3. This test reads every source file under stack/ and fails on any include or call that
// would break it, naming the file and line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace {

TEST(SansIo, StackTouchesNoSocketThreadOrClock) {
  const std::filesystem::path stack = std::filesystem::path(QP2P_SOURCE_DIR) / "stack";
  ASSERT_TRUE(std::filesystem::is_directory(stack)) << stack;
  const std::regex forbidden(
      R"(#include\s*[<"](boost/asio|ns3/|sys/socket\.h|netinet/|arpa/inet\.h|thread>|mutex>|future>|ctime>|time\.h>|unistd\.h>)|std::chrono::(steady|system|high_resolution)_clock|std::this_thread|\bgettimeofday\b|\bclock_gettime\b|\bstd::rand\b)");
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(stack)) {
    const auto ext = entry.path().extension();
    if (ext != ".h" && ext != ".cc") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      EXPECT_FALSE(std::regex_search(line, forbidden))
          << entry.path().string() << ":" << number << ": " << line;
    }
  }
  EXPECT_GT(files, 20) << "stack/ sources not found";
}

}  // namespace
