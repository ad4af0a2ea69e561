#include "state.hpp"

namespace steer::mesh {

namespace {

void put(const std::string &prefix, LeaseState &s, const etcd::KeyValue &kv, Applied &a)
{
	auto lease = parse_lease(prefix, kv.key, kv.value);
	if (!lease) {
		s.rejected.insert_or_assign(kv.key, lease.error().what);
		a.rejections.push_back(lease.error().what);
		a.changed |= s.leases.erase(kv.key) > 0;
		return;
	}
	s.rejected.erase(kv.key);
	auto old = s.leases.find(kv.key);
	if (old != s.leases.end() && old->second == *lease)
		return;  // a TTL refresh: same record
	s.leases[kv.key] = std::move(*lease);
	a.changed = true;
}

} // namespace

LeaseState state_from_range(const std::string &prefix, const etcd::RangeResponse &r, Applied *applied)
{
	LeaseState s;
	Applied a;
	for (const auto &kv : r.kvs)
		put(prefix, s, kv, a);
	s.revision = r.revision;
	if (applied)
		*applied = std::move(a);
	return s;
}

Applied apply_events(const std::string &prefix, LeaseState &state, const std::vector<etcd::Event> &events)
{
	Applied a;
	for (const auto &e : events) {
		if (e.kv.mod_revision != 0 && e.kv.mod_revision <= state.revision)
			continue;
		if (e.type == etcd::Event::del) {
			state.rejected.erase(e.kv.key);
			a.changed |= state.leases.erase(e.kv.key) > 0;
		} else {
			put(prefix, state, e.kv, a);
		}
		state.revision = std::max(state.revision, e.kv.mod_revision);
	}
	return a;
}

} // namespace steer::mesh
