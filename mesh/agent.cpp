#include "agent.hpp"

#include <fstream>
#include <sstream>

#include "files.hpp"
#include "http.hpp"
#include "log.hpp"
#include "model.hpp"

namespace steer::mesh {

namespace {

std::string trim_url(std::string url)
{
	while (!url.empty() && url.back() == '/')
		url.pop_back();
	return url;
}

} // namespace

Result<AgentSetup> agent_setup(const config::Mesh &m)
{
	AgentSetup s{m, {}, nft::table_name};
	if (!m.auth.uses_psk()) {
		s.auth = {"", m.auth.cert, m.auth.key, m.auth.ca};
		return s;
	}
	std::ifstream in(m.auth.psk_file);
	if (!in)
		return sys_error(errno, "read the PSK file", m.auth.psk_file);
	std::ostringstream text;
	text << in.rdbuf();
	auto psk = psk_from_file_text(text.str());
	if (!psk)
		return plain_error(psk.error().what, m.auth.psk_file);
	s.auth.psk = *psk;
	return s;
}

Agent::Agent(AgentSetup s)
	: s_(std::move(s)),
	  daemon_(daemon_setup(s_.mesh.daemon, s_.mesh.conf_dir, s_.mesh.swanctl_uri))
{
	http_global_init();
}

const std::string &Agent::endpoint() const
{
	return s_.mesh.etcd[endpoint_ % s_.mesh.etcd.size()];
}

MeshView Agent::view_of(const LeaseState &s) const
{
	MeshView v = wanted_view(s_.mesh.public_address, s.leases);
	v.host_to_host = host_to_host_;
	return v;
}

Result<LeaseState> Agent::list()
{
	std::string dir = lease_dir(s_.mesh.prefix);
	auto body = http_post(trim_url(endpoint()) + "/v3/kv/range", etcd::range_request(dir), 10000);
	if (!body)
		return body.error();
	auto range = etcd::parse_range_response(*body);
	if (!range)
		return range.error();
	Applied applied;
	LeaseState st = state_from_range(s_.mesh.prefix, *range, &applied);
	for (const auto &why : applied.rejections)
		LOG_WARN("mesh: ignored %s", why.c_str());
	return st;
}

Result<std::string> Agent::plan_once()
{
	auto st = list();
	if (!st)
		return st.error();
	auto files = read_our_files(daemon_.setup().conf_dir);
	if (!files)
		return files.error();
	// A dry run works without a running daemon: the plan is then against
	// nothing loaded (every peer an add), and says so.
	Current current{{}, *files};
	auto lacks = daemon_.lacks_host_to_host();
	auto loaded = lacks ? daemon_.loaded() : Result<Loaded>(lacks.error());
	std::string note;
	if (loaded) {
		current.loaded = std::move(*loaded);
		host_to_host_ = !*lacks;
	} else {
		note = "(daemon not reachable: " + loaded.error().message() + "; planned against nothing loaded)\n";
	}
	MeshView want = view_of(*st);
	Plan plan = make_plan(daemon_.setup().kind, want, current, s_.auth);
	std::string out = "revision " + std::to_string(st->revision) + ": " +
		std::to_string(st->leases.size()) + " leases, " + std::to_string(want.peers.size()) +
		" peers, " + std::to_string(plan.items.size()) + " changes\n";
	return out + note + plan_text(plan, want);
}

} // namespace steer::mesh
