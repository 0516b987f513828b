// Where the loopback tests find the binaries they spawn. The one file compiled with the build
// directory's path (tests/CMakeLists.txt), so every other test object is the same in any
// checkout and ccache reuses it (CI builds a fresh clone each time).
#include "tests/apps/process_helper.h"

namespace qp2p::test {

std::string binary_path(const std::string& name) {
  return std::string(QP2P_BINARY_DIR) + "/apps/" + name;
}

}  // namespace qp2p::test
