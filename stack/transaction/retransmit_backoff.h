// One step of the RFC 8489 section 6.2.1 retransmission schedule, shared by every retransmitting
// table (RequestTracker; federation::RouteOutbox): after a copy left, the RTO doubles up to the
// policy's cap, and the wait before the next step is that RTO, or Rm x the initial RTO after the
// last copy (then the transaction times out).
#pragma once

#include <algorithm>

#include "stack/transaction/request_tracker.h"

namespace qp2p {

// `transmissions` counts the copy that just left; `rto` is backed off in place.
inline Duration next_retransmit_wait(const RetransmitPolicy& policy, int transmissions,
                                     Duration& rto) {
  rto = std::min(rto * 2, policy.max_rto);
  return transmissions == policy.max_transmissions
             ? policy.initial_rto * policy.final_wait_multiplier
             : rto;
}

}  // namespace qp2p
