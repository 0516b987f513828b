// The sans-IO core logs through spdlog's default logger with wall-clock timestamps, which mean
// nothing in a simulation. The qp2p applications call ApplyQp2pSimLogging() when they start: it
// sets the level from the ns-3 GlobalValue "Qp2pLogLevel" (default "warn"; on the command line
// --Qp2pLogLevel=info, or trace/debug/info/warn/error/off) and a pattern that prints the
// simulation time and node instead of the wall clock:
//
//   [+1.234567s] [info] peer ... registered at 198.18.0.2:3478 as 198.18.0.10:49153
#pragma once

#include <string>

namespace ns3 {

void ApplyQp2pSimLogging();

}  // namespace ns3
