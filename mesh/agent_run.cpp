// The agent's loop and the applying of plans (agent.hpp).
#include <chrono>
#include <thread>

#include "agent.hpp"
#include "files.hpp"
#include "http.hpp"
#include "log.hpp"
#include "set_elements.hpp"
#include "transport.hpp"

namespace steer::mesh {

namespace {

void pause(const std::atomic<bool> &stop, int ms)
{
	for (int i = 0; i < ms / 50 && !stop.load(); i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

std::vector<nft::SetChange> set_changes(const std::vector<SetElement> &add,
	const std::vector<SetElement> &remove, bool flush)
{
	std::vector<nft::SetChange> out;
	for (auto &set : nft::mesh_sets())
		out.push_back({set.name, set.key, flush, {}, {}});
	for (const auto &e : remove)
		for (auto &c : out)
			if (c.set == e.set)
				c.remove.push_back(e.element);
	for (const auto &e : add)
		for (auto &c : out)
			if (c.set == e.set)
				c.add.push_back(e.element);
	// Sets without a change stay out of the batch (flush keeps them all:
	// it also empties sets that should be empty).
	std::erase_if(out, [](const nft::SetChange &c) {
		return !c.flush && c.add.empty() && c.remove.empty();
	});
	return out;
}

Status send(const std::string &table, const std::vector<nft::SetChange> &changes)
{
	if (changes.empty())
		return {};
	auto batch = nft::build_set_update(table, changes);
	if (!batch)
		return batch.error();
	auto t = nft::Transport::open();
	if (!t)
		return t.error();
	return t->apply(std::move(*batch));
}

} // namespace

Status Agent::firewall_full(const MeshView &want)
{
	if (s_.nft_table.empty())
		return {};
	auto t = nft::Transport::open();
	if (!t)
		return t.error();
	auto exists = t->table_exists(s_.nft_table);
	if (!exists)
		return exists.error();
	fw_present_ = *exists;
	if (!*exists) {
		LOG_WARN("mesh: no nft table inet %s (ipsec-steer up with [firewall] makes it): "
			"peer sets not kept", s_.nft_table.c_str());
		return {};
	}
	// One batch: flush and refill, committed at once.
	return send(s_.nft_table, set_changes(view_elements(want), {}, true));
}

Status Agent::firewall_diff(const MeshView &before, const MeshView &after)
{
	if (s_.nft_table.empty())
		return {};
	if (!fw_present_)   // made since? (`up` may run after `mesh`)
		return firewall_full(after);
	ElementChanges c = element_changes(before, after);
	for (const auto &e : c.add)
		LOG_INFO("mesh: nft add %s", to_text(e).c_str());
	for (const auto &e : c.remove)
		LOG_INFO("mesh: nft delete %s", to_text(e).c_str());
	return send(s_.nft_table, set_changes(c.add, c.remove, false));
}

Status Agent::apply_plan(const Plan &plan, const MeshView &want)
{
	const std::string &dir = daemon_.setup().conf_dir;
	std::vector<std::string> changed, removed;
	for (const auto &item : plan.items) {
		LOG_INFO("mesh: %s %s: %s", to_string(item.action), item.peer.c_str(), item.why.c_str());
		if (item.action == Action::remove) {
			for (const auto &[file, text] : current_.our_files)
				if (peer_of_file(file) == item.peer)
					if (auto s = remove_file(dir, file); !s)
						return s;
			removed.push_back(item.peer);
			continue;
		}
		for (const auto &f : item.files)
			if (auto s = write_atomic(dir, f); !s)
				return s;
		changed.push_back(item.peer);
	}
	if (changed.empty() && removed.empty())
		return {};
	if (auto s = daemon_.apply(changed, removed); !s)
		return s;
	// What the daemon holds now, without asking it again.
	for (const auto &peer : removed) {
		current_.loaded.erase(peer);
		std::erase_if(current_.our_files, [&](const auto &f) { return peer_of_file(f.first) == peer; });
	}
	for (const auto &peer : changed) {
		const Peer &p = want.peers.at(peer);
		current_.loaded[peer] = expected_conn(daemon_.setup().kind, want, p);
		for (const auto &f : render(daemon_.setup().kind, want, p, s_.auth))
			current_.our_files[f.name] = f.text;
	}
	return {};
}

Status Agent::reconcile()
{
	auto lacks = daemon_.lacks_host_to_host();
	if (!lacks)
		return lacks.error();
	if (*lacks && host_to_host_)
		LOG_WARN("mesh: the daemon runs kernel-libipsec, which refuses host-to-host children: "
			"only subnet-to-subnet children are configured");
	host_to_host_ = !*lacks;
	auto loaded = daemon_.loaded();
	auto files = read_our_files(daemon_.setup().conf_dir);
	if (!loaded || !files)
		return !loaded ? loaded.error() : files.error();
	current_ = {*loaded, *files};
	MeshView want = view_of(state_);
	Plan plan = make_plan(daemon_.setup().kind, want, current_, s_.auth);
	if (auto s = apply_plan(plan, want); !s)
		return s;
	if (auto s = firewall_full(want); !s)
		return s;
	applied_ = want;
	dirty_ = false;
	LOG_INFO("mesh: reconciled at revision %lld: %zu peers, %zu changes",
		static_cast<long long>(state_.revision), want.peers.size(), plan.items.size());
	return {};
}

Status Agent::follow()
{
	if (dirty_)
		return reconcile();
	MeshView want = view_of(state_);
	Plan plan = make_plan(daemon_.setup().kind, want, current_, s_.auth);
	if (auto s = apply_plan(plan, want); !s) {
		dirty_ = true;
		return s;
	}
	if (auto s = firewall_diff(applied_, want); !s) {
		dirty_ = true;
		return s;
	}
	applied_ = want;
	return {};
}

// One whole watch message: its events applied, then acted on. False ends
// the stream (re-list needed, or acting failed: the loop backs off and
// reconciles).
bool Agent::on_message(const etcd::WatchMessage &m, bool &relist, Status &failed)
{
	if (m.compact_revision > 0 || m.canceled) {
		std::string why = m.compact_revision > 0
			? "revision " + std::to_string(state_.next_revision()) + " compacted (now " +
				std::to_string(m.compact_revision) + ")"
			: "cancelled: " + m.cancel_reason;
		LOG_WARN("mesh: watch ended by etcd (%s): listing again", why.c_str());
		relist = true;
		return false;
	}
	for (const auto &e : m.events)
		if (e.kv.mod_revision > state_.revision)
			LOG_INFO("mesh: event revision %lld %s %s", static_cast<long long>(e.kv.mod_revision),
				e.type == etcd::Event::del ? "delete" : "put", e.kv.key.c_str());
	Applied a = apply_events(s_.mesh.prefix, state_, m.events);
	for (const auto &why : a.rejections)
		LOG_WARN("mesh: ignored %s", why.c_str());
	if (!a.changed)
		return true;
	if (auto s = follow(); !s) {
		failed = s;
		return false;
	}
	return true;
}

Status Agent::watch(const std::atomic<bool> &stop, bool &relist, int &backoff_ms)
{
	std::string url = endpoint();
	while (!url.empty() && url.back() == '/')
		url.pop_back();
	etcd::LineBuffer lines;
	Status failed;
	auto on_data = [&](std::string_view bytes) {
		lines.feed(bytes);
		std::string line;
		while (lines.next_line(line)) {
			if (line.find_first_not_of(" \r\t") == std::string::npos)
				continue;
			auto m = etcd::parse_watch_message(line);
			if (!m) {
				failed = m.error();
				return false;
			}
			if (m->created) {
				LOG_INFO("mesh: watching %s from revision %lld", url.c_str(),
					static_cast<long long>(state_.next_revision()));
				backoff_ms = 200;
			}
			if (!on_message(*m, relist, failed))
				return false;
		}
		return !stop.load();
	};
	std::string body = etcd::watch_request(lease_dir(s_.mesh.prefix), state_.next_revision());
	Status s = http_stream(url + "/v3/watch", body, on_data, stop);
	if (!failed)
		return failed;
	return s;
}

int Agent::run(const std::atomic<bool> &stop)
{
	bool listed = false;
	int backoff = 200;
	auto retry = [&](const char *what, const Error &e) {
		LOG_WARN("mesh: %s: %s; again in %d ms", what, e.message().c_str(), backoff);
		endpoint_++;
		pause(stop, backoff);
		backoff = std::min(backoff * 2, 5000);
	};
	while (!stop.load()) {
		if (!listed) {
			auto st = list();
			if (!st) {
				retry("list", st.error());
				continue;
			}
			state_ = std::move(*st);
			listed = true;
			dirty_ = true;
			LOG_INFO("mesh: listed %zu leases at revision %lld", state_.leases.size(),
				static_cast<long long>(state_.revision));
		}
		if (dirty_) {
			if (auto s = reconcile(); !s) {
				retry("reconcile", s.error());
				continue;
			}
		}
		bool relist = false;
		Status s = watch(stop, relist, backoff);
		if (stop.load())
			break;
		if (relist)
			listed = false;
		else if (!s)
			retry(("watch (resuming at revision " + std::to_string(state_.next_revision()) + ")").c_str(),
				s.error());
	}
	LOG_INFO("mesh: stopping at revision %lld", static_cast<long long>(state_.revision));
	return 0;
}

} // namespace steer::mesh
