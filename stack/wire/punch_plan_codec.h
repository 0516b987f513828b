// The byte layout of a PunchPlan (docs/protocol.md section 5.5) on its own, for the messages
// that carry one: the punch-start push (control_message.cc) and the punch payload a caller's
// supernode sends the callee's supernode (stack/federation/route_handshake.h, section 14.6).
#pragma once

#include "stack/core/byte_io.h"
#include "stack/wire/control_message.h"

namespace qp2p::wire {

// At most tunnel::kMaxRemoteCandidates candidates are written (to_fields cuts the list to fit a
// punch-start; callers with a smaller budget cut it before).
void append_plan(ByteWriter& w, const PunchPlanFields& plan);
// Checks every bound section 5.5 lists (so a decoded plan always configures an attempt); a
// violation fails the reader.
void read_plan(ByteReader& r, PunchPlanFields& plan);

}  // namespace qp2p::wire
