// The mesh agent (DESIGN.md §4, `ipsec-steer mesh`): list the leases, make
// the daemon and our nft sets match, then watch from the listed revision
// and follow every change. A failed watch resumes from the last applied
// revision (a compacted one: list again); nothing is acted on before a
// list or a watch message is whole.
#pragma once

#include <atomic>
#include <string>

#include "daemon.hpp"
#include "loader/config.hpp"
#include "plan.hpp"
#include "state.hpp"

namespace steer::mesh {

struct AgentSetup {
	config::Mesh mesh;
	AuthMaterial auth;
	std::string nft_table;      // our table (nft::table_name); "" = no firewall
};

// The setup of a parsed config: reads the PSK file. Error names the file.
[[nodiscard]] Result<AgentSetup> agent_setup(const config::Mesh &m);

class Agent {
public:
	explicit Agent(AgentSetup s);

	// One list, the plan against the daemon's and conf_dir's state, as
	// text (nothing changed). `--once`.
	[[nodiscard]] Result<std::string> plan_once();
	// Runs until `stop`; returns 0, or 1 when it cannot start at all.
	int run(const std::atomic<bool> &stop);

private:
	Result<LeaseState> list();
	Status reconcile();                       // full: daemon asked, sets flushed and refilled
	Status follow();                          // incremental from applied_
	Status apply_plan(const Plan &plan, const MeshView &want);
	Status firewall_full(const MeshView &want);
	Status firewall_diff(const MeshView &before, const MeshView &after);
	Status watch(const std::atomic<bool> &stop, bool &relist, int &backoff_ms);
	bool on_message(const etcd::WatchMessage &m, bool &relist, Status &failed);
	MeshView view_of(const LeaseState &s) const;
	const std::string &endpoint() const;

	AgentSetup s_;
	DaemonCtl daemon_;
	LeaseState state_;          // leases as of state_.revision
	MeshView applied_;          // what the daemon and sets were last made to hold
	Current current_;           // the daemon as the plan sees it, kept after each apply
	bool host_to_host_ = true;
	bool dirty_ = true;         // the next change needs a full reconcile
	bool fw_present_ = false;   // our table existed at the last full update
	size_t endpoint_ = 0;
};

} // namespace steer::mesh
