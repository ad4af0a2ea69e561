#include "watch_sources.hpp"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "log.hpp"
#include "model.hpp"

namespace steer {

namespace {

constexpr const char *netns_dir = "/run/netns";

bool is_ours(const ns::RtEvent &e, const GroupFacts &facts)
{
	return e.ifindex == 0 || facts.ifindexes.count(e.ifindex);
}

} // namespace

bool concerns_router(const ns::RtEvent &e, const GroupFacts &facts)
{
	switch (e.kind) {
	case ns::RtKind::link:
		// By name too: a public interface re-created, or renamed into place.
		return is_ours(e, facts) || facts.ifnames.count(e.ifname);
	case ns::RtKind::address:
	case ns::RtKind::tc:
		return is_ours(e, facts);
	case ns::RtKind::route:
	case ns::RtKind::rule:
		return e.protocol == route_protocol || facts.tables.count(e.table);
	case ns::RtKind::neighbour:
	case ns::RtKind::other:
		return false;
	}
	return false;
}

Result<EventSources> EventSources::open()
{
	// Like `ip netns add`: the directory may not exist before the first one.
	if (::mkdir(netns_dir, 0755) != 0 && errno != EEXIST)
		return sys_error(errno, "create directory", netns_dir);
	Fd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	if (!fd.valid())
		return sys_error(errno, "inotify_init1");
	uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;
	if (::inotify_add_watch(fd.get(), netns_dir, mask) < 0)
		return sys_error(errno, "watch directory", netns_dir);
	return EventSources(std::move(fd));
}

std::vector<EventSources::Watched> EventSources::wanted(const config::Config &cfg,
							const std::vector<GatewayPlan> &plans)
{
	std::vector<Watched> out;
	Watched own;
	own.host = true;
	own.want_nft = cfg.firewall.has_value();
	out.push_back(std::move(own));
	for (const auto &p : plans) {
		const std::string &router = p.gateway->router_netns;
		auto known = [&](const std::string &n) {
			return std::any_of(out.begin(), out.end(), [&](const Watched &w) { return w.netns == n; });
		};
		if (router.empty())
			out.front().group = "";
		else if (!known(router))
			out.push_back(Watched{router, router, false, false, false, {}, {}});
		out.push_back(Watched{p.netns, router, true, false, p.gateway->firewall.has_value(), {}, {}});
	}
	return out;
}

void EventSources::reopen(Watched &w)
{
	auto id = ns::netns_id(w.netns);
	bool current = id && w.rt && w.rt->netns() == *id && (!w.want_nft || (w.nft && w.nft->netns() == *id));
	if (current)
		return;
	w.rt.reset();
	w.nft.reset();
	if (!id)
		return; // absent: inotify says when it comes (back)
	auto rt = ns::RtMonitor::open(w.netns);
	if (!rt) {
		LOG_WARN("watch: cannot monitor %s: %s", w.netns.empty() ? "own namespace" : w.netns.c_str(),
			 rt.error().message().c_str());
		return;
	}
	w.rt.emplace(std::move(*rt));
	if (!w.want_nft)
		return;
	auto nft = NftMonitor::open(w.netns);
	if (!nft) {
		LOG_WARN("watch: cannot monitor nftables of %s: %s",
			 w.netns.empty() ? "own namespace" : w.netns.c_str(), nft.error().message().c_str());
		return;
	}
	w.nft.emplace(std::move(*nft));
}

void EventSources::refresh(const config::Config &cfg, const std::vector<GatewayPlan> &plans)
{
	std::vector<Watched> next = wanted(cfg, plans);
	for (auto &w : next) {
		auto old = std::find_if(watched_.begin(), watched_.end(),
					[&](const Watched &o) { return o.netns == w.netns && o.want_nft == w.want_nft; });
		if (old != watched_.end()) {
			w.rt = std::move(old->rt);
			w.nft = std::move(old->nft);
		}
		reopen(w);
	}
	watched_ = std::move(next);
}

std::vector<pollfd> EventSources::pollfds() const
{
	std::vector<pollfd> fds{{inotify_.get(), POLLIN, 0}};
	for (const auto &w : watched_) {
		if (w.rt)
			fds.push_back({w.rt->fd(), POLLIN, 0});
		if (w.nft)
			fds.push_back({w.nft->fd(), POLLIN, 0});
	}
	return fds;
}

void EventSources::read_netns_changes(Wakeup &out)
{
	alignas(inotify_event) char buf[4096];
	ssize_t n;
	while ((n = ::read(inotify_.get(), buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			auto *ev = reinterpret_cast<inotify_event *>(p);
			std::string name = ev->len ? ev->name : "";
			p += sizeof(inotify_event) + ev->len;
			for (auto &w : watched_) {
				if (w.netns.empty() || w.netns != name)
					continue;
				// Deleted, or created anew: a socket opened before
				// watches a namespace that is gone (its nsfs inode
				// number may even be reused by the new one).
				w.rt.reset();
				w.nft.reset();
				out.namespaces = true;
				if (w.group)
					out.groups.insert(*w.group);
			}
			if (ev->mask & IN_Q_OVERFLOW)
				out.namespaces = true;
		}
	}
}

void EventSources::sort_rt(const Watched &w, const ns::RtBatch &batch,
			   const std::map<std::string, GroupFacts> &facts, Wakeup &out)
{
	if (!w.group)
		return; // our own namespace, not a router: no rtnetlink state of ours
	auto f = facts.find(*w.group);
	static const GroupFacts none;
	const GroupFacts &gf = f == facts.end() ? none : f->second;
	bool wake = batch.overflowed;
	for (const auto &e : batch.events) {
		LOG_DEBUG("watch: %s: rtnetlink kind %d removed %d ifindex %d %s protocol %u table %u",
			  w.netns.empty() ? "own namespace" : w.netns.c_str(), static_cast<int>(e.kind), e.removed,
			  e.ifindex, e.ifname.c_str(), e.protocol, e.table);
		// In a gateway namespace everything is ours.
		wake = wake || w.gateway || concerns_router(e, gf);
		if (!w.gateway && e.kind == ns::RtKind::link && e.removed && e.ifindex)
			out.deleted_links[*w.group].insert(e.ifindex);
	}
	if (wake)
		out.groups.insert(*w.group);
}

Wakeup EventSources::read(const std::map<std::string, GroupFacts> &facts)
{
	Wakeup out;
	read_netns_changes(out);
	for (auto &w : watched_) {
		if (w.rt) {
			auto batch = w.rt->read();
			if (batch)
				sort_rt(w, *batch, facts, out);
			else
				LOG_WARN("watch: %s", batch.error().message().c_str());
		}
		if (!w.nft)
			continue;
		auto batch = w.nft->read();
		bool ours = batch && (batch->overflowed || std::count(batch->tables.begin(), batch->tables.end(),
								      std::string(nft::table_name)));
		if (ours && w.gateway)
			out.groups.insert(*w.group);
		if (ours && w.host)
			out.host = true;
	}
	return out;
}

std::set<int> EventSources::discard(const std::string &group)
{
	std::set<int> deleted;
	for (auto &w : watched_) {
		if (w.group != group)
			continue;
		auto batch = w.rt ? w.rt->read() : Result<ns::RtBatch>(ns::RtBatch{});
		for (const auto &e : batch ? batch->events : std::vector<ns::RtEvent>{})
			if (!w.gateway && e.kind == ns::RtKind::link && e.removed && e.ifindex)
				deleted.insert(e.ifindex);
		// Our own namespace's [firewall] table is not this group's.
		if (w.nft && w.gateway)
			(void)w.nft->read();
	}
	return deleted;
}

} // namespace steer
