// Logging set-up shared by the qp2p binaries: spdlog's default logger writing to stderr (stdout
// stays free for a tool's own output), with the level named on the command line.
#pragma once

#include <spdlog/common.h>

#include <optional>
#include <string_view>

namespace qp2p {

// The values accepted by --log-level, for help texts.
inline constexpr const char* kLogLevelNames = "trace|debug|info|warn|error|off";

// "trace", "debug", "info", "warn", "error" or "off"; nullopt for anything else.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text);

// Makes the default logger a stderr logger at `level`. Throws std::invalid_argument
// "bad log level 'X' (expected trace|debug|info|warn|error|off)" for an unknown value.
void setup_logging(std::string_view level);

}  // namespace qp2p
