// Key files on disk: where a supernode or peer keeps its Ed25519 seed between runs. The file
// format (one line, see identity.h) is parsed by stack/identity; this file does the I/O, the
// permissions, and errors that name the path.
#pragma once

#include <string>

#include "stack/core/random.h"
#include "stack/identity/identity.h"

namespace qp2p {

// Reads the identity stored at `path`. Throws std::runtime_error "key file PATH: WHAT" when the
// file cannot be read or does not hold a valid key.
Identity load_key_file(const std::string& path);

// Loads `path`, or when it does not exist creates it (mode 0600, never overwriting a file that
// appeared meanwhile) holding a new identity drawn from `random`. `created` (optional) tells
// which happened. Throws std::runtime_error naming the path on any failure.
Identity load_or_create_key_file(const std::string& path, Random& random, bool* created = nullptr);

}  // namespace qp2p
