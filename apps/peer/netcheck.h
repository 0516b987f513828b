// `qp2p-peer netcheck` (see netcheck.cc).
#pragma once

namespace qp2p {
// argv[0] is "netcheck". Returns the process exit code: 0 complete profile, 3 partial
// profile (some field unknown), 1 failure, 2 bad command line.
int run_netcheck(int argc, char** argv);
}  // namespace qp2p
