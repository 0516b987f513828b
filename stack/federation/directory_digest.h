// The directory's digest: a fixed three-level hash tree over the peer-id space, kept up to date
// on every change, so two replicas compare their whole state with one number and find the
// differing parts by descending only where hashes differ (O(differences) messages, not
// O(state)). Peer ids are Ed25519 keys, spread evenly, so a bucket is the top 12 bits.
//
//   level 0: 1 root            = XOR of the 64 branches
//   level 1: 64 branches       = XOR of their 64 buckets (branch = top 6 bits)
//   level 2: 4096 buckets      = XOR of record_hash() (BLAKE2b, RFC 7693) of every record
//                                whose peer is in it
//
// XOR makes the digest independent of the order records were applied in and O(1) to update
// (replace a record: XOR the old hash out, the new one in). It is a summary for replicas of one
// authenticated network, not a commitment: a member could construct colliding sets, which
// gains it nothing it could not do by writing records.
#pragma once

#include <array>
#include <cstdint>

#include "stack/identity/identity.h"

namespace qp2p::federation {

inline constexpr std::size_t kBranches = 64;
inline constexpr std::size_t kBuckets = 4096;
inline constexpr std::size_t kBucketsPerBranch = kBuckets / kBranches;

inline std::uint16_t bucket_of(const PeerId& id) {
  return static_cast<std::uint16_t>((id.key[0] << 4) | (id.key[1] >> 4));
}
// Smallest and largest peer ids of a bucket.
PeerId bucket_first(std::uint16_t bucket);
PeerId bucket_last(std::uint16_t bucket);

class DigestTree {
 public:
  // Adds a hash to, or removes it from, a bucket (XOR is its own inverse).
  void toggle(std::uint16_t bucket, std::uint64_t hash) {
    leaves_[bucket] ^= hash;
    branches_[bucket / kBucketsPerBranch] ^= hash;
    root_ ^= hash;
  }
  std::uint64_t root() const { return root_; }
  std::uint64_t branch(std::size_t i) const { return branches_[i]; }
  std::uint64_t bucket(std::size_t i) const { return leaves_[i]; }

 private:
  std::uint64_t root_ = 0;
  std::array<std::uint64_t, kBranches> branches_{};
  std::array<std::uint64_t, kBuckets> leaves_{};
};

}  // namespace qp2p::federation
