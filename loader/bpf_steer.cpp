#include "bpf_steer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

#include "log.hpp"
#include "steer_bpf.skel.h"

namespace steer {

namespace {

std::string pin_path(const std::string &dir, const char *name)
{
	return dir + "/" + name;
}

void set_map_pins(struct ::steer_bpf *skel, const std::string &dir)
{
	bpf_map__set_pin_path(skel->maps.gateways, pin_path(dir, "gateways").c_str());
	bpf_map__set_pin_path(skel->maps.ports, pin_path(dir, "ports").c_str());
	bpf_map__set_pin_path(skel->maps.stats, pin_path(dir, "stats").c_str());
	bpf_map__set_pin_path(skel->maps.frags, pin_path(dir, "frags").c_str());
}

int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	log::Level ours = level == LIBBPF_WARN ? log::Level::info : log::Level::debug;
	if (ours > log::threshold())
		return 0;
	std::fputs("ipsec-steer: libbpf: ", stderr);
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
	bpf_map__set_max_entries(skel->maps.stats, opts.stats_gateways * STEER_CLASS_MAX);
	if (!opts.pin_dir.empty())
		set_map_pins(skel, opts.pin_dir);
	if (int err = steer_bpf__load(skel))
		return sys_error(err, "load BPF object steer (verifier or pinned map mismatch; -v shows libbpf's log)",
				 opts.pin_dir);
	if (!opts.pin_dir.empty()) {
		if (Status st = obj->pin_programs(opts.pin_dir); !st)
			return st.error();
	}
	return obj;
}

// Programs are re-pinned on every load: the pin always names the newest.
Status SteerObject::pin_programs(const std::string &dir)
{
	std::string path = pin_path(dir, "prog_ingress");
	// bpffs refuses names with a dot.
	std::string tmp = path + "_new";
	::unlink(tmp.c_str());
	if (int err = bpf_program__pin(skel_->progs.steer_ingress, tmp.c_str()))
		return sys_error(err, "pin program", tmp);
	if (::rename(tmp.c_str(), path.c_str()) != 0)
		return sys_error(errno, "rename pinned program", path);
	return {};
}

SteerObject::~SteerObject()
{
	steer_bpf__destroy(skel_);
}

int SteerObject::ingress_fd() const { return bpf_program__fd(skel_->progs.steer_ingress); }
int SteerObject::gateways_fd() const { return bpf_map__fd(skel_->maps.gateways); }
int SteerObject::ports_fd() const { return bpf_map__fd(skel_->maps.ports); }
int SteerObject::stats_fd() const { return bpf_map__fd(skel_->maps.stats); }
int SteerObject::frags_fd() const { return bpf_map__fd(skel_->maps.frags); }
int SteerObject::decision_fd() const { return bpf_map__fd(skel_->maps.decision); }

} // namespace steer
