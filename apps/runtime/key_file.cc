// Key file I/O (see key_file.h). Plain POSIX calls: O_EXCL so two processes starting at once
// cannot both write a key, and mode 0600 from the start so the seed is never world-readable.
#include "apps/runtime/key_file.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace qp2p {

namespace {

// A key file is one short line; anything much longer is not a key file.
constexpr std::size_t kMaxKeyFileBytes = 4096;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("key file " + path + ": " + what);
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Identity load_key_file(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(f.fd, &st) == 0) {
    if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
      // Like ssh, point it out; refusing would lock people out of a working setup.
      spdlog::warn("key file {} is accessible by other users (mode {:o}); chmod 600 it", path,
                   st.st_mode & 0777);
    }
  }
  std::string text;
  char buffer[512];
  for (;;) {
    ssize_t n = ::read(f.fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path, std::string("read: ") + std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxKeyFileBytes) fail(path, "too large to be a key file");
  }
  std::string error;
  auto identity = decode_key_file(text, &error);
  if (!identity) fail(path, error);
  return *identity;
}

Identity load_or_create_key_file(const std::string& path, Random& random, bool* created) {
  if (created) *created = false;
  Identity identity = Identity::generate(random);
  Fd f{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (f.fd < 0) {
    if (errno == EEXIST) return load_key_file(path);
    fail(path, std::string("cannot create: ") + std::strerror(errno));
  }
  const std::string text = encode_key_file(identity);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(f.fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::unlink(path.c_str());  // a half-written key would fail every later start
      fail(path, "write: " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(f.fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(path.c_str());
    fail(path, "fsync: " + why);
  }
  if (created) *created = true;
  return identity;
}

}  // namespace qp2p
