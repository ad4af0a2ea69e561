#include "watch.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include "cli.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "environment.hpp"
#include "firewall.hpp"
#include "gateway_counters.hpp"
#include "lock.hpp"
#include "log.hpp"
#include "metrics_server.hpp"
#include "pins.hpp"
#include "preflight.hpp"
#include "reconcile.hpp"
#include "watch_drift.hpp"
#include "watch_fence.hpp"
#include "watch_notify.hpp"
#include "watch_sources.hpp"

namespace steer {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// When one router namespace (or the host table) is due for a check.
struct Due {
	std::optional<Clock::time_point> first_event, last_event; // a burst being debounced
	std::optional<Clock::time_point> retry_at;                // after a failed restore
	int failures = 0;
	std::string waiting_for; // logged once, not at every check

	void event(Clock::time_point now)
	{
		if (!first_event)
			first_event = now;
		last_event = now;
		retry_at.reset(); // something changed: no reason to wait out a backoff
	}
	void now_please(Clock::time_point now) { first_event = last_event = now - WatchTiming::max_delay; }
	std::optional<Clock::time_point> deadline() const
	{
		std::optional<Clock::time_point> d = retry_at;
		if (last_event) {
			Clock::time_point burst = std::min(*last_event + WatchTiming::quiet,
							   *first_event + WatchTiming::max_delay);
			d = d ? std::min(*d, burst) : burst;
		}
		return d;
	}
	void settle()
	{
		first_event.reset();
		last_event.reset();
		retry_at.reset();
	}
	void failed(Clock::time_point now)
	{
		failures++;
		milliseconds wait = WatchTiming::first_retry * (1 << std::min(failures - 1, 6));
		retry_at = now + std::min(wait, WatchTiming::max_retry);
	}
};

std::string join(const std::vector<std::string> &lines)
{
	std::string out;
	for (const auto &l : lines)
		out += (out.empty() ? "" : "; ") + l;
	return out;
}

std::string label(const std::string &router)
{
	return router.empty() ? "own namespace" : "router namespace " + router;
}

long long ms_since(Clock::time_point t)
{
	return duration_cast<milliseconds>(Clock::now() - t).count();
}

// `up` and `down` of one pin tree serialize on its lock; so do our runs.
template <typename F>
Status locked(const std::string &bpffs, F &&fn)
{
	auto lock = PinTreeLock::acquire(bpffs);
	if (!lock)
		return lock.error();
	return fn();
}

Result<config::Config> load_checked(const std::string &path)
{
	auto cfg = config::load(path);
	if (!cfg)
		return cfg.error();
	if (Status st = validate_environment(*cfg); !st)
		return st.error();
	return cfg;
}

// The signals arrive through a descriptor polled with the rest; blocked
// before any helper thread exists, so none of them ever takes one.
Result<Fd> signal_descriptor()
{
	sigset_t set;
	sigemptyset(&set);
	for (int s : {SIGHUP, SIGTERM, SIGINT})
		sigaddset(&set, s);
	if (int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0)
		return sys_error(err, "block signals");
	Fd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
	if (!fd.valid())
		return sys_error(errno, "signalfd");
	return fd;
}

class Watcher {
public:
	Watcher(config::Config cfg, ServiceNotifier notifier, Fd signals, EventSources sources,
		std::optional<MetricsServer> metrics)
		: notifier_(std::move(notifier)), signals_(std::move(signals)), sources_(std::move(sources)),
		  metrics_(std::move(metrics))
	{
		adopt(std::move(cfg));
	}
	Watcher(const Watcher &) = delete; // plans_ point into cfg_
	int run();

private:
	enum class Signal { none, reload, stop };

	void adopt(config::Config cfg);
	void full_up();
	void reload();
	Signal read_signals();
	void on_wakeup(const Wakeup &w);
	void run_due();
	void check_router(const std::string &router);
	void check_host();
	void remember(const std::string &router, const RouterView &view);
	void fence(const std::string &router, const std::set<int> &deleted);
	int poll_timeout() const;
	void notify(const std::string &state);
	std::string summary() const;

	config::Config cfg_;
	std::vector<GatewayPlan> plans_;
	std::map<std::string, std::vector<const GatewayPlan *>> groups_; // by router namespace
	std::map<std::string, GroupFacts> facts_;
	std::map<std::string, Due> due_;
	Due host_, full_;
	bool full_pending_ = true; // the whole `up` (start, reload) has yet to succeed
	bool ready_ = false;
	Clock::time_point next_periodic_ = Clock::now() + WatchTiming::periodic;
	ServiceNotifier notifier_;
	Fd signals_;
	EventSources sources_;
	std::optional<MetricsServer> metrics_;
};

void Watcher::adopt(config::Config cfg)
{
	cfg_ = std::move(cfg);
	plans_ = plan_gateways(cfg_);
	groups_.clear();
	facts_.clear();
	for (const auto &p : plans_) {
		groups_[p.gateway->router_netns].push_back(&p);
		auto &f = facts_[p.gateway->router_netns];
		f.ifnames.insert({p.gateway->public_interface, p.router_link});
		f.tables.insert(p.table);
	}
	for (auto it = due_.begin(); it != due_.end();)
		it = groups_.count(it->first) ? std::next(it) : due_.erase(it);
	sources_.refresh(cfg_, plans_);
}

void Watcher::notify(const std::string &state)
{
	if (Status st = notifier_.send(state); !st)
		LOG_WARN("watch: %s", st.error().message().c_str());
}

std::string Watcher::summary() const
{
	return "watching " + std::to_string(cfg_.gateways.size()) + " gateway(s) in " +
	       std::to_string(groups_.size()) + " router namespace(s)";
}

void Watcher::remember(const std::string &router, const RouterView &view)
{
	facts_[router].ifindexes = view.ifindexes;
}

void Watcher::fence(const std::string &router, const std::set<int> &deleted)
{
	auto fenced = fence_deleted_links(pin_dir(cfg_.bpffs, router), deleted);
	if (!fenced)
		LOG_ERROR("watch: %s: fencing maps: %s", label(router).c_str(), fenced.error().message().c_str());
	else if (*fenced > 0)
		LOG_WARN("watch: %s: an interface of ours went away; %d map entries fenced",
			 label(router).c_str(), *fenced);
}

// The whole `up`: at start and after a reload (it also sweeps what the
// config no longer names, and applies the host table).
void Watcher::full_up()
{
	auto started = Clock::now();
	// The preflight of `up` each time: a bpffs unmounted under us is
	// mounted again, a missing interface is a failure to retry.
	Status st = locked(cfg_.bpffs, [&]() -> Status {
		if (Status pre = preflight_up(cfg_); !pre)
			return pre;
		return up(cfg_);
	});
	for (const auto &[router, plans] : groups_)
		fence(router, sources_.discard(router));
	sources_.refresh(cfg_, plans_);
	if (!st) {
		full_.failed(Clock::now());
		LOG_ERROR("watch: up failed (retrying): %s", st.error().message().c_str());
		notify("STATUS=up failed, retrying: " + st.error().message());
		return;
	}
	full_pending_ = false;
	full_.settle();
	full_.failures = 0;
	for (const auto &[router, plans] : groups_)
		remember(router, inspect_router_group(cfg_, router, plans));
	LOG_INFO("watch: up done in %lld ms", ms_since(started));
	notify(std::string(ready_ ? "" : "READY=1\n") + "STATUS=" + summary());
	ready_ = true;
}

// A config that does not load or does not fit the machine leaves the
// running one in force.
void Watcher::reload()
{
	notify("RELOADING=1\nSTATUS=reloading " + cfg_.path);
	auto next = load_checked(cfg_.path);
	if (!next) {
		LOG_ERROR("watch: reload: keeping the running config: %s", next.error().message().c_str());
		notify("READY=1\nSTATUS=reload failed, keeping the running config: " + next.error().message());
		return;
	}
	LOG_WARN("watch: reloaded %s", cfg_.path.c_str());
	adopt(std::move(*next));
	full_pending_ = true;
	full_.settle();
	full_up();
	// The reload is over either way: a failed `up` is retried like any
	// other restore, under the new config.
	notify("READY=1\nSTATUS=" + (full_pending_ ? "degraded, retrying up; " : std::string()) + summary());
}

Watcher::Signal Watcher::read_signals()
{
	Signal out = Signal::none;
	signalfd_siginfo si{};
	while (::read(signals_.get(), &si, sizeof(si)) == static_cast<ssize_t>(sizeof(si))) {
		if (si.ssi_signo == SIGHUP && out == Signal::none)
			out = Signal::reload;
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			out = Signal::stop;
	}
	return out;
}

void Watcher::on_wakeup(const Wakeup &w)
{
	auto now = Clock::now();
	// Before any debounce: nothing may keep pointing at a deleted link.
	for (const auto &[router, gone] : w.deleted_links)
		fence(router, gone);
	for (const auto &router : w.groups)
		if (groups_.count(router)) {
			due_[router].event(now);
			full_.event(now); // a pending whole `up` may now succeed
		}
	if (w.host)
		host_.event(now);
	if (w.namespaces)
		sources_.refresh(cfg_, plans_);
}

void Watcher::check_router(const std::string &router)
{
	Due &due = due_[router];
	LOG_DEBUG("watch: %s: checking (%s)", label(router).c_str(),
		  due.last_event ? "events or periodic" : "retry");
	due.settle();
	auto started = Clock::now();
	const auto &plans = groups_.at(router);
	RouterView before = inspect_router_group(cfg_, router, plans);
	remember(router, before);
	if (!before.waiting.empty()) {
		// `up` would fail; the events of the missing piece wake us.
		std::string why = join(before.waiting);
		if (why != due.waiting_for) {
			LOG_WARN("watch: %s: waiting: %s", label(router).c_str(), why.c_str());
			notify("STATUS=waiting: " + why);
		}
		due.waiting_for = why;
		return;
	}
	due.waiting_for.clear();
	if (before.drift.empty()) {
		due.failures = 0;
		return;
	}
	LOG_WARN("watch: %s: restoring: %s", label(router).c_str(), join(before.drift).c_str());
	notify("STATUS=restoring " + label(router) + ": " + before.drift.front());
	Status st = locked(cfg_.bpffs, [&] { return up_router_of(cfg_, router); });
	// What our `up` changed was announced before its requests returned.
	fence(router, sources_.discard(router));
	RouterView after = inspect_router_group(cfg_, router, plans);
	remember(router, after);
	sources_.refresh(cfg_, plans_);
	if (st && after.drift.empty()) {
		due.failures = 0;
		LOG_WARN("watch: %s: restored in %lld ms", label(router).c_str(), ms_since(started));
		notify("STATUS=" + summary() + "; restored " + label(router));
		return;
	}
	due.failed(Clock::now());
	std::string why = st ? join(after.drift) : st.error().message();
	LOG_WARN("watch: %s: not restored (attempt %d): %s", label(router).c_str(), due.failures, why.c_str());
	notify("STATUS=degraded: " + label(router) + ": " + why);
}

void Watcher::check_host()
{
	host_.settle();
	auto drift = host_drift(cfg_);
	if (drift.empty())
		return;
	LOG_WARN("watch: restoring: %s", join(drift).c_str());
	Status st = locked(cfg_.bpffs, [&] { return apply_host_firewall(cfg_); });
	if (st && host_drift(cfg_).empty()) {
		host_.failures = 0;
		return;
	}
	host_.failed(Clock::now());
	LOG_WARN("watch: host firewall not restored: %s", st ? "still differs" : st.error().message().c_str());
}

void Watcher::run_due()
{
	auto now = Clock::now();
	if (now >= next_periodic_) {
		next_periodic_ = now + WatchTiming::periodic;
		sources_.refresh(cfg_, plans_);
		for (const auto &[router, plans] : groups_)
			due_[router].now_please(now);
		host_.now_please(now);
	}
	if (full_pending_) {
		if (full_.deadline() && *full_.deadline() <= now)
			full_up();
		return; // the whole `up` covers every router namespace
	}
	for (const auto &[router, plans] : groups_) {
		auto d = due_[router].deadline();
		if (d && *d <= Clock::now())
			check_router(router);
	}
	if (host_.deadline() && *host_.deadline() <= Clock::now())
		check_host();
}

int Watcher::poll_timeout() const
{
	Clock::time_point next = next_periodic_;
	auto consider = [&](const Due &d) {
		if (auto t = d.deadline())
			next = std::min(next, *t);
	};
	// While the whole `up` is pending it stands for every check.
	if (full_pending_) {
		consider(full_);
	} else {
		for (const auto &[router, due] : due_)
			consider(due);
		consider(host_);
	}
	auto wait = duration_cast<milliseconds>(next - Clock::now()).count();
	return static_cast<int>(std::clamp<long long>(wait + 1, 0, WatchTiming::periodic.count()));
}

int Watcher::run()
{
	full_up();
	for (;;) {
		std::vector<pollfd> fds = sources_.pollfds();
		if (metrics_)
			fds.push_back({metrics_->fd(), POLLIN, 0});
		fds.push_back({signals_.get(), POLLIN, 0});
		if (::poll(fds.data(), fds.size(), poll_timeout()) < 0 && errno != EINTR) {
			LOG_ERROR("watch: poll: %s", std::strerror(errno));
			return exit_failure;
		}
		if (metrics_ && (fds[fds.size() - 2].revents & POLLIN))
			metrics_->serve_one([this]() -> Result<std::string> {
				auto counters = read_gateway_counters(cfg_);
				if (!counters)
					return counters.error();
				return prometheus_counters(*counters) + prometheus_xfrm(cfg_);
			});
		if (fds.back().revents & POLLIN) {
			Signal sig = read_signals();
			if (sig == Signal::stop) {
				// The state stays in place: `down` is a separate command.
				notify("STOPPING=1\nSTATUS=stopped; state left in place");
				return exit_ok;
			}
			if (sig == Signal::reload)
				reload();
		}
		on_wakeup(sources_.read(facts_));
		run_due();
	}
}

} // namespace

int cmd_watch(const CommandOptions &o)
{
	auto cfg = config::load(o.config_path);
	if (!cfg) {
		std::fprintf(stderr, "%s\n", cfg.error().message().c_str());
		return exit_usage;
	}
	// As `up`: what the machine lacks is exit 1 with the fix, before any
	// change (capabilities first: without them even the lock is refused).
	Status pre = preflight_capabilities();
	if (pre)
		pre = locked(cfg->bpffs, [&] { return preflight_up(*cfg); });
	if (!pre) {
		std::fprintf(stderr, "ipsec-steer: %s\n", pre.error().message().c_str());
		return exit_failure;
	}
	auto notifier = ServiceNotifier::from_environment();
	auto signals = signal_descriptor();
	auto sources = signals ? EventSources::open() : Result<EventSources>(signals.error());
	for (const Error *e : {notifier ? nullptr : &notifier.error(), sources ? nullptr : &sources.error()})
		if (e) {
			std::fprintf(stderr, "ipsec-steer: %s\n", e->message().c_str());
			return exit_failure;
		}
	std::optional<MetricsServer> metrics;
	if (!o.metrics.empty()) {
		auto server = MetricsServer::listen(o.metrics);
		if (!server) {
			std::fprintf(stderr, "ipsec-steer: %s\n", server.error().message().c_str());
			return exit_failure;
		}
		std::fprintf(stderr, "ipsec-steer: metrics on http://%s/metrics\n", server->address().c_str());
		metrics.emplace(std::move(*server));
	}
	Watcher w(std::move(*cfg), std::move(*notifier), std::move(*signals), std::move(*sources),
		  std::move(metrics));
	return w.run();
}

} // namespace steer
