#include "bpf_steer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "crash_point.hpp"
#include "log.hpp"
#include "pin_migration.hpp"
#include "preflight.hpp"
#include "steer_bpf.skel.h"

namespace steer {

namespace {

// The gateway cache's coherence needs loads kept in program order, which
// x86 gives and clang 14 cannot ask for in BPF (bpf/lib/gateway_cache.h).
#if defined(__x86_64__) || defined(__i386__)
constexpr bool kLoadsInOrder = true;
#else
constexpr bool kLoadsInOrder = false;
#endif

std::string pin_path(const std::string &dir, const char *name)
{
	return dir + "/" + name;
}

std::vector<PinnedMap> pinned_maps(struct ::steer_bpf *skel)
{
	return {{skel->maps.gateways, "gateways", MapContents::rebuilt},
		{skel->maps.ports, "ports", MapContents::rebuilt},
		{skel->maps.stats, "stats", MapContents::counters},
		{skel->maps.stats_out, "stats_out", MapContents::counters},
		{skel->maps.returns, "returns", MapContents::rebuilt},
		{skel->maps.frags, "frags", MapContents::cache}};
}

void set_map_pins(struct ::steer_bpf *skel, const std::string &dir)
{
	for (const PinnedMap &m : pinned_maps(skel))
		bpf_map__set_pin_path(m.map, pin_path(dir, m.name).c_str());
}

// Entries of a pinned map, 0 when there is none.
uint32_t pinned_max_entries(const std::string &path)
{
	int fd = bpf_obj_get(path.c_str());
	if (fd < 0)
		return 0;
	bpf_map_info info{};
	uint32_t len = sizeof(info);
	uint32_t entries = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.max_entries : 0;
	::close(fd);
	return entries;
}

// Counters keep their pinned size while every gateway id fits, so they
// survive reloads; a map too small differs in max_entries and is replaced
// like any unfit map (pin_migration.hpp), its counters carried over.
uint32_t stats_entries(const LoadOptions &opts)
{
	uint32_t want = opts.stats_gateways * STEER_CLASS_MAX;
	if (opts.pin_dir.empty())
		return want;
	return std::max(want, pinned_max_entries(pin_path(opts.pin_dir, "stats")));
}

// Maps are pinned under dir (none when empty); pins this build cannot
// use are retired first, so the load never fails on them nor reuses them.
Result<std::vector<RetiredMap>> prepare_pins(struct ::steer_bpf *skel, const std::string &dir)
{
	if (dir.empty())
		return std::vector<RetiredMap>{};
	set_map_pins(skel, dir);
	return retire_unfit_pins(dir, pinned_maps(skel), bpf_object__btf(skel->obj));
}

int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	log::Level ours = level == LIBBPF_WARN ? log::Level::info : log::Level::debug;
	if (ours > log::threshold())
		return 0;
	std::fputs("ipsec-steer: ", stderr);
	return std::vfprintf(stderr, fmt, ap);
}

} // namespace

void route_libbpf_logs()
{
	libbpf_set_print(libbpf_log);
}

Result<std::unique_ptr<SteerObject>> SteerObject::load(const LoadOptions &opts)
{
	struct ::steer_bpf *skel = steer_bpf__open();
	if (!skel)
		return sys_error(errno, "open BPF object steer");
	std::unique_ptr<SteerObject> obj(new SteerObject(skel));
	skel->rodata->record_decisions = opts.record_decisions ? 1 : 0;
	// A kernel without the helper would refuse the program: the verifier
	// drops the call when this is 0 (gateways then carry REDIRECT_PLAIN).
	skel->rodata->redirect_peer_ok = redirect_peer_available() ? 1 : 0;
	skel->rodata->gateway_cache_ok = opts.gateway_cache && kLoadsInOrder ? 1 : 0;
	uint32_t entries = stats_entries(opts);
	bpf_map__set_max_entries(skel->maps.stats, entries);
	bpf_map__set_max_entries(skel->maps.stats_out, entries);
	auto retired = prepare_pins(skel, opts.pin_dir);
	if (!retired)
		return retired.error();
	if (int err = steer_bpf__load(skel))
		return sys_error(err, "load BPF object steer (verifier or pinned map mismatch; -v shows libbpf's log)",
				 opts.pin_dir);
	if (Status st = finish_retirement(opts.pin_dir, *retired); !st)
		return st.error();
	return obj;
}

// Programs are re-pinned on every load: the pin always names the newest,
// and is replaced by rename so it never goes missing in between.
Status SteerObject::pin_programs(const std::string &dir)
{
	for (auto [prog, name] : {std::pair{skel_->progs.ist_ingress, "prog_ingress"},
				  std::pair{skel_->progs.ist_return, "prog_return"}}) {
		std::string path = pin_path(dir, name);
		std::string tmp = path + "_new"; // bpffs refuses names with a dot
		::unlink(tmp.c_str());
		if (int err = bpf_program__pin(prog, tmp.c_str()))
			return sys_error(err, "pin program", tmp);
		crash_point("program_pinned_unrenamed");
		if (::rename(tmp.c_str(), path.c_str()) != 0)
			return sys_error(errno, "rename pinned program", path);
	}
	return {};
}

std::vector<uint32_t> SteerObject::shared_map_ids() const
{
	std::vector<uint32_t> ids;
	for (const PinnedMap &m : pinned_maps(skel_)) {
		bpf_map_info info{};
		uint32_t len = sizeof(info);
		if (bpf_obj_get_info_by_fd(bpf_map__fd(m.map), &info, &len) == 0)
			ids.push_back(info.id);
	}
	std::sort(ids.begin(), ids.end());
	return ids;
}

SteerObject::~SteerObject()
{
	steer_bpf__destroy(skel_);
}

int SteerObject::ingress_fd() const { return bpf_program__fd(skel_->progs.ist_ingress); }
int SteerObject::return_fd() const { return bpf_program__fd(skel_->progs.ist_return); }
int SteerObject::stats_out_fd() const { return bpf_map__fd(skel_->maps.stats_out); }
int SteerObject::returns_fd() const { return bpf_map__fd(skel_->maps.returns); }
int SteerObject::gateways_fd() const { return bpf_map__fd(skel_->maps.gateways); }
int SteerObject::ports_fd() const { return bpf_map__fd(skel_->maps.ports); }
int SteerObject::stats_fd() const { return bpf_map__fd(skel_->maps.stats); }
int SteerObject::frags_fd() const { return bpf_map__fd(skel_->maps.frags); }
int SteerObject::decision_fd() const { return bpf_map__fd(skel_->maps.decision); }

} // namespace steer
