// qp2p-stunload: STUN Binding load generator (load_generator.h) and, with --reflect, the bare
// reflector used as a yardstick (reflector.h). Talks only to loopback unless --allow-remote:
// DESIGN.md allows our machines to send to 127.0.0.0/8 only. Bounded in time either way.
//
//   qp2p-stunload --target 127.0.0.1:3478 --duration 5 --sockets 4 --window 64 --json
//   qp2p-stunload --reflect 127.0.0.1:0          (prints "reflecting on IP:PORT", runs until
//                                                 SIGINT/SIGTERM or --duration, default 600 s)
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/runtime/logging.h"
#include "apps/stunload/load_generator.h"
#include "apps/stunload/reflector.h"

namespace {

constexpr const char* kProgram = "qp2p-stunload";
// Upper bounds on what a benchmark run may ask for; more is a typo, not a benchmark.
constexpr double kMaxDurationSeconds = 3600;
constexpr double kDefaultReflectSeconds = 600;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

void print_ready(const qp2p::Endpoint& bound) {
  std::printf("reflecting on %s\n", bound.to_string().c_str());
  std::fflush(stdout);  // the benchmark script waits for this line
}

nlohmann::json to_json(const qp2p::stunload::LoadReport& r, const qp2p::stunload::LoadOptions& o) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : o.targets) targets.push_back(t.to_string());
  return {{"targets", targets},
          {"sockets", o.sockets},
          {"window", o.window},
          {"batch", o.batch},
          {"seconds", r.seconds},
          {"sent", r.sent},
          {"valid", r.valid},
          {"valid_per_second", r.valid_per_second},
          {"invalid", r.invalid},
          {"invalid_reasons",
           {{"parse", r.invalid_parse},
            {"not_success", r.invalid_not_success},
            {"unknown_transaction", r.invalid_unknown_transaction},
            {"wrong_source", r.invalid_wrong_source},
            {"wrong_mapped", r.invalid_wrong_mapped},
            {"bad_fingerprint", r.invalid_bad_fingerprint}}},
          {"late", r.late},
          {"timed_out", r.timed_out},
          {"outstanding_at_end", r.outstanding_at_end},
          {"send_errors", r.send_errors},
          {"latency_us",
           {{"p50", r.latency_p50_us}, {"p99", r.latency_p99_us}, {"max", r.latency_max_us}}}};
}

void print_text(const qp2p::stunload::LoadReport& r) {
  std::printf("responses/s (valid): %.0f\n", r.valid_per_second);
  std::printf(
      "sent %llu, valid %llu, invalid %llu, timed out %llu, late %llu, send errors %llu "
      "in %.2f s\n",
      static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.valid),
      static_cast<unsigned long long>(r.invalid), static_cast<unsigned long long>(r.timed_out),
      static_cast<unsigned long long>(r.late), static_cast<unsigned long long>(r.send_errors),
      r.seconds);
  if (r.invalid > 0) {
    std::printf(
        "invalid: parse %llu, not success %llu, unknown transaction %llu, wrong source "
        "%llu, wrong mapped address %llu, bad fingerprint %llu\n",
        static_cast<unsigned long long>(r.invalid_parse),
        static_cast<unsigned long long>(r.invalid_not_success),
        static_cast<unsigned long long>(r.invalid_unknown_transaction),
        static_cast<unsigned long long>(r.invalid_wrong_source),
        static_cast<unsigned long long>(r.invalid_wrong_mapped),
        static_cast<unsigned long long>(r.invalid_bad_fingerprint));
  }
  std::printf("latency: p50 %.0f us, p99 %.0f us, max %.0f us\n", r.latency_p50_us,
              r.latency_p99_us, r.latency_max_us);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qp2p;
  CLI::App app{"qp2p-stunload: STUN Binding load generator (and --reflect yardstick)."};
  std::vector<std::string> target_texts;
  std::string reflect_text, log_level = "warn";
  double duration_s = 5;
  std::size_t sockets = 4, window = 64, batch = 32;
  bool json = false, allow_remote = false, fingerprint = false;
  app.add_option("--target", target_texts, "STUN server to load (repeatable)")
      ->type_name("IP:PORT");
  app.add_option("--reflect", reflect_text, "Run the bare reflector on IP:PORT instead")
      ->type_name("IP:PORT");
  auto* duration_opt = app.add_option("--duration", duration_s, "Seconds to run (default 5)")
                           ->check(CLI::Range(0.1, kMaxDurationSeconds));
  app.add_option("--sockets", sockets, "Client sockets (default 4)")->check(CLI::Range(1, 1024));
  app.add_option("--window", window, "Outstanding requests per socket (default 64)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--batch", batch, "Datagrams per sendmmsg/recvmmsg (default 32)")
      ->check(CLI::Range(1, 1024));
  app.add_flag("--fingerprint", fingerprint, "Add FINGERPRINT to the requests");
  app.add_flag("--json", json, "Print one JSON object instead of text");
  app.add_flag("--allow-remote", allow_remote, "Allow targets outside loopback");
  app.add_option("--log-level", log_level, std::string("Log level: ") + kLogLevelNames);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << kProgram << ": " << e.what() << " (see --help)\n";
    return 2;
  }
  try {
    setup_logging(log_level);
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": --log-level: " << e.what() << "\n";
    return 2;
  }
  auto parse_endpoint = [&](const std::string& flag, const std::string& text) {
    auto ep = Endpoint::parse(text);
    if (!ep) throw std::invalid_argument(flag + ": expected IP:PORT, got '" + text + "'");
    if (!allow_remote && !ep->address.is_loopback()) {
      throw std::invalid_argument(flag + ": " + text +
                                  " is not a loopback address (add --allow-remote to permit)");
    }
    return *ep;
  };

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    if (!reflect_text.empty()) {
      if (!target_texts.empty())
        throw std::invalid_argument("--reflect and --target exclude each other");
      const Endpoint local = parse_endpoint("--reflect", reflect_text);
      const double seconds = duration_opt->count() ? duration_s : kDefaultReflectSeconds;
      auto r = stunload::run_reflector(local, batch,
                                       std::chrono::milliseconds(static_cast<long>(seconds * 1000)),
                                       g_stop, print_ready);
      std::fprintf(stderr, "reflector: received %llu, answered %llu, ignored %llu\n",
                   static_cast<unsigned long long>(r.received),
                   static_cast<unsigned long long>(r.answered),
                   static_cast<unsigned long long>(r.ignored));
      return 0;
    }
    stunload::LoadOptions options;
    if (target_texts.empty()) throw std::invalid_argument("give --target IP:PORT (or --reflect)");
    for (const auto& t : target_texts) options.targets.push_back(parse_endpoint("--target", t));
    options.duration = std::chrono::milliseconds(static_cast<long>(duration_s * 1000));
    options.sockets = sockets;
    options.window = window;
    options.batch = batch;
    options.fingerprint = fingerprint;
    auto report = stunload::run_load(options);
    if (json) {
      std::cout << to_json(report, options).dump() << std::endl;
    } else {
      print_text(report);
    }
    return report.valid > 0 ? 0 : 1;
  } catch (const std::invalid_argument& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 1;
  }
}
