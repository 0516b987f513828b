// The management API on its own thread, fed with snapshots taken on the protocol thread
// (api_service.h).
#include "apps/runtime/api_service.h"

#include <spdlog/spdlog.h>

#include <time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>
#include <vector>

#include "apps/runtime/clock.h"

namespace qp2p {

using management::ApiSnapshot;
using management::MetricsText;
using Snapshot = std::shared_ptr<const ApiSnapshot>;

namespace {

// CPU time of the calling thread, in microseconds.
std::uint64_t thread_cpu_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

struct ApiService::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& protocol_io, const Supernode& node, management::BearerToken token,
        ApiServiceOptions options, Instant started,
        std::function<void(MetricsText&)> runtime_metrics)
      : protocol_io(protocol_io),
        node(node),
        started(started),
        runtime_metrics(std::move(runtime_metrics)),
        options(std::move(options)),
        api(std::move(token), this->options.rate_limit) {}

  // HTTP thread: one request through screen, the snapshot, and answer.
  void handle(management::ApiRequest request, HttpApiServer::Respond respond);
  // HTTP thread: calls `use` with a snapshot young enough, now or once a new one arrives.
  void with_snapshot(std::function<void(const Snapshot&)> use);
  // HTTP thread: asks the protocol thread for a new snapshot unless one is on its way.
  void refresh();
  // HTTP thread: the stall bound passed with the snapshot still asked for: the requests waiting
  // for it get 503 (health.h).
  void arm_stall_timer();
  void on_stall();
  // HTTP thread: shutdown and the protocol loop's responsiveness as seen from here.
  management::HealthInputs health() const;
  bool stalled() const {
    return management::decide_health(health(), now()).health == management::Health::kStalled;
  }
  // HTTP thread: the context of an answer given now.
  management::ApiContext context();
  // HTTP thread: the families of the HTTP server and the snapshots.
  void server_metrics(MetricsText& m) const;

  // Touched on the protocol thread only.
  boost::asio::io_context& protocol_io;
  const Supernode& node;
  const Instant started;
  std::function<void(MetricsText&)> runtime_metrics;
  management::SnapshotBuilder builder;
  bool closed = false;

  // Set before the HTTP thread starts, then touched on it only.
  const ApiServiceOptions options;
  boost::asio::io_context http_io;
  std::unique_ptr<HttpApiServer> server;
  management::IndexApi api;
  Snapshot current;
  bool refreshing = false;
  std::optional<Instant> asked;  // when the snapshot on its way was asked for
  boost::asio::steady_timer stall_timer{http_io};
  bool stall_reported = false;  // the warning was logged; the recovery will be too
  bool leaving = false;
  std::vector<std::function<void(const Snapshot&)>> waiting;
  ApiSnapshotCounters counters;

  std::thread thread;
};

void ApiService::State::handle(management::ApiRequest request, HttpApiServer::Respond respond) {
  if (auto decided = api.screen(request, now())) return respond(std::move(*decided));
  // Called with a snapshot young enough, or by on_stall() (then unavailable() answers).
  with_snapshot([self = shared_from_this(), request = std::move(request),
                 respond = std::move(respond)](const Snapshot& snapshot) {
    const management::ApiContext context = self->context();
    if (auto refused = self->api.unavailable(context)) return respond(std::move(*refused));
    respond(self->api.answer(request, *snapshot, context));
  });
}

management::ApiContext ApiService::State::context() {
  management::ApiContext context;
  context.now = now();
  context.started = started;
  context.server_metrics = [self = shared_from_this()](MetricsText& m) { self->server_metrics(m); };
  context.health = health();
  return context;
}

management::HealthInputs ApiService::State::health() const {
  management::HealthInputs h;
  h.leaving = leaving;
  h.snapshot_asked = asked;
  h.stall_after = management::stall_bound(options.snapshot_max_age);
  return h;
}

void ApiService::State::with_snapshot(std::function<void(const Snapshot&)> use) {
  const Duration age = current ? now() - current->taken : Duration::max();
  if (age > options.snapshot_max_age / 2) refresh();
  // Stalled: no snapshot is coming, so `use` answers 503 at once rather than wait.
  if (age <= options.snapshot_max_age || stalled()) return use(current);
  ++counters.requests_waited;
  waiting.push_back(std::move(use));
}

void ApiService::State::refresh() {
  if (refreshing) return;
  refreshing = true;
  asked = now();
  arm_stall_timer();
  boost::asio::post(protocol_io, [self = shared_from_this()] {
    if (self->closed) return;
    management::ApiContext context;
    const Instant start = now();
    const std::uint64_t cpu_start = thread_cpu_us();
    context.now = start;
    context.started = self->started;
    context.runtime_metrics = self->runtime_metrics;
    std::shared_ptr<ApiSnapshot> snapshot = self->builder.take(self->node, context);
    const auto took_us = static_cast<std::uint64_t>(to_us(now()) - to_us(start));
    const std::uint64_t cpu_us = thread_cpu_us() - cpu_start;
    boost::asio::post(self->http_io, [self, snapshot, took_us, cpu_us] {
      snapshot->finish();  // the sort, off the protocol thread
      self->current = snapshot;
      self->refreshing = false;
      if (self->stall_reported) {
        spdlog::info("api: the protocol loop answered again after {} ms",
                     to_ms(now() - *self->asked));
        self->stall_reported = false;
      }
      self->asked.reset();
      self->stall_timer.cancel();
      ApiSnapshotCounters& c = self->counters;
      ++c.taken;
      c.take_us_total += took_us;
      c.take_us_max = std::max(c.take_us_max, took_us);
      c.take_cpu_us_total += cpu_us;
      c.peers_last = snapshot->peers.size();
      auto waiting = std::move(self->waiting);
      self->waiting.clear();
      for (auto& use : waiting) use(self->current);
    });
  });
}

void ApiService::State::arm_stall_timer() {
  stall_timer.expires_at(to_steady(*asked + health().stall_after));
  // The timer belongs to this state and runs on http_io, which runs only while the state lives.
  stall_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_stall();
  });
}

void ApiService::State::on_stall() {
  if (!refreshing) return;
  if (!stalled()) return arm_stall_timer();  // woke early
  spdlog::warn("api: the protocol loop has not answered a snapshot request for {} ms; answering "
               "503 until it does",
               to_ms(now() - *asked));
  stall_reported = true;
  auto waiting = std::move(this->waiting);
  this->waiting.clear();
  for (auto& use : waiting) use(current);
}

void ApiService::State::server_metrics(MetricsText& m) const {
  const HttpApiCounters& h = server->counters();
  m.family("qp2p_api_connections_total", MetricsText::Type::kCounter,
           "Management API connections, by outcome.");
  m.sample(h.connections_accepted, {{"outcome", "accepted"}});
  m.sample(h.connections_refused, {{"outcome", "refused_over_limit"}});
  m.sample(h.connections_refused_per_client, {{"outcome", "refused_per_client"}});
  m.sample(h.timeouts, {{"outcome", "timed_out"}});
  m.sample(h.bad_http, {{"outcome", "bad_http"}});
  m.family("qp2p_api_open_connections", MetricsText::Type::kGauge,
           "Management API connections open now.");
  m.sample(server->open_connections());
  struct Single {
    const char* name;
    MetricsText::Type type;
    const char* help;
    std::uint64_t value;
    bool microseconds;  // written in seconds
  };
  const Single snapshots[] = {
      {"qp2p_api_snapshots_total", MetricsText::Type::kCounter,
       "Snapshots of the supernode taken for the API on the protocol thread.", counters.taken,
       false},
      {"qp2p_api_snapshot_take_seconds_total", MetricsText::Type::kCounter,
       "Protocol-thread time spent taking snapshots for the API.", counters.take_us_total, true},
      {"qp2p_api_snapshot_take_cpu_seconds_total", MetricsText::Type::kCounter,
       "Protocol-thread CPU time spent taking snapshots for the API.", counters.take_cpu_us_total,
       true},
      {"qp2p_api_snapshot_take_max_seconds", MetricsText::Type::kGauge,
       "The longest a snapshot took on the protocol thread.", counters.take_us_max, true},
      {"qp2p_api_snapshot_waits_total", MetricsText::Type::kCounter,
       "API requests that waited for a new snapshot (the last one was too old).",
       counters.requests_waited, false}};
  for (const Single& f : snapshots) {
    m.family(f.name, f.type, f.help);
    if (f.microseconds)
      m.sample_seconds(f.value);
    else
      m.sample(f.value);
  }
}

ApiService::ApiService(boost::asio::io_context& protocol_io, const Supernode& node,
                       management::BearerToken token, ApiServiceOptions options, Instant started,
                       std::function<void(MetricsText&)> runtime_metrics)
    : state_(std::make_shared<State>(protocol_io, node, std::move(token), std::move(options),
                                     started, std::move(runtime_metrics))) {
  // The handler holds the state weakly: the server belongs to the state.
  std::weak_ptr<State> weak = state_;
  state_->server = std::make_unique<HttpApiServer>(
      state_->http_io, state_->options.http,
      [weak](management::ApiRequest request, HttpApiServer::Respond respond) {
        if (auto self = weak.lock()) self->handle(std::move(request), std::move(respond));
      });
  state_->thread = std::thread([state = state_.get()] { state->http_io.run(); });
}

ApiService::~ApiService() { close(); }

Endpoint ApiService::local_endpoint() const { return state_->server->local_endpoint(); }

void ApiService::announce_leaving() {
  boost::asio::post(state_->http_io, [state = state_.get()] { state->leaving = true; });
}

void ApiService::close() {
  if (state_->closed) return;
  state_->closed = true;
  boost::asio::post(state_->http_io, [state = state_.get()] {
    state->server->close();
    state->stall_timer.cancel();
    state->waiting.clear();
    state->http_io.stop();
  });
  state_->thread.join();
}

ApiSnapshotCounters ApiService::snapshot_counters() const { return state_->counters; }

}  // namespace qp2p
