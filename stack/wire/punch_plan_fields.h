// Conversion between the hole-punching plan the handshake service computes
// (tunnel::PunchPlan, stack/tunnel/punch_planner.h) and its wire form in a PunchStart
// (wire::PunchPlanFields, docs/protocol.md section 8.5). Kept apart from the codec so that
// control_message.h does not depend on the tunnel layer (which itself uses the codec).
#pragma once

#include "stack/tunnel/punch_planner.h"
#include "stack/wire/control_message.h"

namespace qp2p::wire {

// Durations are rounded to the nearest millisecond; every value is clamped into the bounds the
// decoder accepts, and the candidate list is cut at its limit and at what fits one sealed
// datagram, so the result always encodes into a valid punch-start.
PunchPlanFields to_fields(const tunnel::PunchPlan& plan);
// `remote` is the PunchStart's peer. A decoded PunchPlanFields is always in bounds.
tunnel::PunchPlan from_fields(const PunchPlanFields& fields, const PeerId& remote);

}  // namespace qp2p::wire
