// Preflight: what `up`, `down` and `check` need of the machine, checked
// before anything is touched, so a run that cannot finish fails with the
// cause and the fix and leaves the system as it was. `check` reports the
// same findings without changing anything; `up` also repairs what it
// safely can (mounts bpffs, falls back to bpf_redirect).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.hpp"
#include "result.hpp"

namespace steer {

// A problem with its fix; err is the errno behind it (0 if none).
struct Finding {
	std::string what;
	std::string fix;
	std::string rule = {}; // the offending rule, when there is one (check)
	int err = 0;
};

// "what: strerror; fix: fix", the one-line form `up` prints.
Error to_error(const Finding &f);

// Effective capabilities of this process (capget, 64 bits).
uint64_t effective_capabilities();

// Capabilities `up`/`down` need and this process lacks (empty: none).
std::vector<Finding> missing_capabilities();

// Config against machine (router namespaces, interfaces, addresses):
// environment.cpp's findings, fix included.
std::vector<Finding> environment_findings(const config::Config &cfg);

// Where `up` would mount bpffs for this pin root ("" if nowhere: only
// under /sys/fs/bpf, as bpftool does), and whether a bpffs holds it now.
std::string bpffs_mount_point(const std::string &pin_root);
bool on_bpffs(const std::string &path);

// A pin root on no bpffs that `up` would not mount one for (outside
// /sys/fs/bpf): the reason and the fix.
std::vector<Finding> bpffs_findings(const std::string &pin_root);

// No bpffs under the pin root: mounts one at /sys/fs/bpf when the root is
// under it; otherwise, or if the mount fails, the reason and the fix.
Status ensure_bpffs(const std::string &pin_root);

// Would `up` overflow a map? Per router namespace: the gateways the config
// names, plus (a pinned map is updated before stale keys are swept) the
// pinned entries it does not name, against the map's max_entries.
std::vector<Finding> map_capacity_findings(const config::Config &cfg);

// Pure part of the above, for tests: entries present and wanted (as a
// union) must fit in capacity.
bool fits(uint64_t present_not_wanted, uint64_t wanted, uint64_t capacity);

// Does the kernel have bpf_redirect_peer for tc programs? Probed once
// (libbpf_probe_bpf_helper). IPSEC_STEER_ASSUME_NO_REDIRECT_PEER=1 makes
// it answer no (test seam: this kernel has the helper).
bool redirect_peer_available();

// The config `up` applies: without bpf_redirect_peer every gateway gets
// STEER_F_REDIRECT_PLAIN, with a warning (once per process) naming them.
config::Config with_redirect_fallback(const config::Config &cfg);

// Kernel BTF is not needed (see docs/design.md); a note for `check`.
std::string kernel_btf_note();

// `up`: capabilities, environment, map capacity, then bpffs (mounted if
// missing: the only change preflight makes, and only when all else holds).
Status preflight_up(const config::Config &cfg);
// `down` (and `up` before it takes the lock): capabilities only; a missing
// interface is nothing for `down` to remove.
Status preflight_capabilities();

} // namespace steer
