// Host mesh at scale (issue 8): 1,000 flannel leases appear at once; time
// one host's plan (view, diff against nothing loaded, 999 swanctl
// fragments rendered), its nft set update built and, as root, sent to a
// kernel table in a private network namespace (unshare: the root
// namespace is never touched). Then the 1,001st lease: count the
// connections and set elements it touches.
//   mesh_bench [--leases N]   prints one line per figure
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "files.hpp"
#include "plan.hpp"
#include "set_elements.hpp"
#include "state.hpp"
#include "transport.hpp"

namespace {

using namespace steer;
using namespace steer::mesh;
using Clock = std::chrono::steady_clock;

const std::string prefix = "/coreos.com/network/subnets";

double ms_since(Clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Lease n: subnet 10.<n/256>.<n%256>.0/24 on host 198.51.<100+n/250>.<1+n%250>
// (host 0 is this host).
etcd::KeyValue lease(int n)
{
	std::string subnet = "10." + std::to_string(n / 256) + "." + std::to_string(n % 256) + ".0";
	std::string ip = "198.51." + std::to_string(100 + n / 250) + "." + std::to_string(1 + n % 250);
	return {prefix + "/" + subnet + "-24",
		"{\"PublicIP\":\"" + ip + "\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VtepMAC\":\"aa:bb:cc:dd:ee:ff\"}}",
		n + 1};
}

std::vector<nft::SetChange> changes_of(const ElementChanges &c, bool flush)
{
	std::vector<nft::SetChange> out;
	for (auto &s : nft::mesh_sets()) {
		nft::SetChange ch{s.name, s.key, flush, {}, {}};
		for (const auto &e : c.add)
			if (e.set == s.name)
				ch.add.push_back(e.element);
		for (const auto &e : c.remove)
			if (e.set == s.name)
				ch.remove.push_back(e.element);
		out.push_back(std::move(ch));
	}
	return out;
}

size_t kernel_elements(const std::vector<nft::SetChange> &changes)
{
	size_t n = 0;
	for (const auto &c : changes)
		for (const auto *list : {&c.add, &c.remove})
			for (const auto &e : *list)
				n += nft::kernel_elements(c.key, e);
	return n;
}

// As root: a private netns with our table's peer sets, as `up` makes
// them (the batches make the per-length sets); false otherwise.
bool kernel_table()
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
		return false;
	nft::Ruleset rs;
	rs.sets = nft::host_sets();
	auto s = nft::replace_table(rs);
	if (!s)
		std::fprintf(stderr, "mesh_bench: no kernel table: %s\n", s.error().message().c_str());
	return s.ok();
}

double send(const std::vector<nft::SetChange> &changes)
{
	auto t0 = Clock::now();
	auto b = nft::build_set_update(nft::table_name, changes);
	auto t = nft::Transport::open();
	if (!b || !t)
		return -1;
	auto s = t->apply(std::move(*b));
	if (!s) {
		std::fprintf(stderr, "mesh_bench: %s\n", s.error().message().c_str());
		return -1;
	}
	return ms_since(t0);
}

// The daemon's side of the first reconcile, minus the daemon itself.
double write_files(const Plan &plan)
{
	char tmpl[] = "/tmp/mesh-bench-XXXXXX";
	if (!mkdtemp(tmpl))
		return -1;
	auto t0 = Clock::now();
	for (const auto &item : plan.items)
		for (const auto &f : item.files)
			if (!write_atomic(tmpl, f))
				return -1;
	double ms = ms_since(t0);
	for (const auto &item : plan.items)
		for (const auto &f : item.files)
			(void)remove_file(tmpl, f.name);
	rmdir(tmpl);
	return ms;
}

} // namespace

int main(int argc, char **argv)
{
	int n = 1000;
	if (argc == 3 && std::strcmp(argv[1], "--leases") == 0)
		n = std::stoi(argv[2]);
	auto self = *config::parse_ip("198.51.100.1");
	AuthMaterial psk{"bench-psk", {}, {}, {}};
	bool kernel = kernel_table();

	etcd::RangeResponse r{n + 1, {}};
	for (int i = 0; i < n; i++)
		r.kvs.push_back(lease(i));
	auto t0 = Clock::now();
	LeaseState st = state_from_range(prefix, r, nullptr);
	MeshView v0 = wanted_view(self, st.leases);
	Plan plan = make_plan(Daemon::strongswan, v0, {}, psk);
	double plan_ms = ms_since(t0);
	t0 = Clock::now();
	ElementChanges all = element_changes({self, {}, {}}, v0);
	auto full = changes_of(all, true);
	auto batch = nft::build_set_update(nft::table_name, full);
	double build_ms = ms_since(t0);
	std::printf("leases %d: %zu peers, plan %zu items (%zu files rendered) in %.1f ms\n", n, v0.peers.size(),
		plan.items.size(), plan.items.size(), plan_ms);
	std::printf("nft set update: %zu elements (%zu kernel elements, %zu bytes, %zu messages) built in %.1f ms\n",
		all.add.size(), kernel_elements(full), batch->bytes.size(), batch->acked_messages(), build_ms);
	if (kernel)
		std::printf("nft set update sent and committed by the kernel in %.1f ms\n", send(full));
	std::printf("plan + nft update for one host: %.1f ms (target < 1000 ms)\n", plan_ms + build_ms);
	std::printf("writing the %zu files (temp + fsync + rename each) to /tmp: %.1f ms\n", plan.items.size(),
		write_files(plan));

	// The 1,001st lease.
	Current cur;
	for (const auto &item : plan.items) {
		cur.loaded[item.peer] = expected_conn(Daemon::strongswan, v0, v0.peers.at(item.peer));
		for (const auto &f : item.files)
			cur.our_files[f.name] = f.text;
	}
	etcd::Event e{etcd::Event::put, lease(n)};
	e.kv.mod_revision = n + 2;
	t0 = Clock::now();
	apply_events(prefix, st, {e});
	MeshView v1 = wanted_view(self, st.leases);
	Plan one = make_plan(Daemon::strongswan, v1, cur, psk);
	auto inc = changes_of(element_changes(v0, v1), false);
	double inc_ms = ms_since(t0);
	size_t conns = one.items.size(), elems = 0;
	for (const auto &c : inc)
		elems += c.add.size() + c.remove.size();
	std::printf("lease %d: touches %zu connection(s) (%s %s), %zu set element(s) (%zu kernel elements) "
		"= 1 per mesh set it belongs to (peers_v4, subnets_v4_24, peer_subnets_v4_24), planned in %.1f ms\n",
		n + 1, conns, conns ? to_string(one.items[0].action) : "-", conns ? one.items[0].peer.c_str() : "-",
		elems, kernel_elements(inc), inc_ms);
	if (kernel)
		std::printf("lease %d: nft update sent in %.2f ms\n", n + 1, send(inc));
	return conns == 1 && elems == 3 ? 0 : 1;
}
