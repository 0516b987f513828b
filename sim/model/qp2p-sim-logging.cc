#include "sim/model/qp2p-sim-logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "ns3/fatal-error.h"
#include "ns3/global-value.h"
#include "ns3/simulator.h"
#include "ns3/string.h"

namespace ns3 {

namespace {

GlobalValue g_qp2pLogLevel("Qp2pLogLevel",
                           "Level of the qp2p core's log (trace, debug, info, warn, error, off)",
                           StringValue("warn"), MakeStringChecker());

// %* in the pattern: the simulation time, as ns-3 logging prints it.
class SimTimeFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string text = "+" + std::to_string(Simulator::Now().GetSeconds()) + "s";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SimTimeFlag>();
  }
};

}  // namespace

void ApplyQp2pSimLogging() {
  static std::string applied;
  StringValue value;
  g_qp2pLogLevel.GetValue(value);
  const std::string level = value.Get();
  if (level == applied) {
    return;
  }
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    NS_FATAL_ERROR("Qp2pLogLevel: unknown level '" << level << "'");
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<SimTimeFlag>('*').set_pattern("[%*] [%l] %v");
  spdlog::set_formatter(std::move(formatter));
  spdlog::set_level(parsed);
  applied = level;
}

}  // namespace ns3
