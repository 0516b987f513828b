// spdlog set-up (see logging.h).
#include "apps/runtime/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>
#include <string>

namespace qp2p {

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view text) {
  using spdlog::level::level_enum;
  if (text == "trace") return level_enum::trace;
  if (text == "debug") return level_enum::debug;
  if (text == "info") return level_enum::info;
  if (text == "warn") return level_enum::warn;
  if (text == "error") return level_enum::err;
  if (text == "off") return level_enum::off;
  return std::nullopt;
}

void setup_logging(std::string_view level) {
  auto parsed = parse_log_level(level);
  if (!parsed) {
    throw std::invalid_argument("bad log level '" + std::string(level) + "' (expected " +
                                kLogLevelNames + ")");
  }
  // Plain (uncoloured) stderr: the logs usually end up in a file or the journal. The sink
  // flushes every line, so a supervising process sees them at once.
  auto logger =
      std::make_shared<spdlog::logger>("qp2p", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(*parsed);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace qp2p
