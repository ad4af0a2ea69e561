#include "programs.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "log.hpp"

namespace steer {

namespace {

bool prog_info(int fd, bpf_prog_info &info)
{
	std::memset(&info, 0, sizeof(info));
	uint32_t len = sizeof(info);
	return bpf_obj_get_info_by_fd(fd, &info, &len) == 0;
}

bool same_code(int a, int b)
{
	bpf_prog_info ia, ib;
	return prog_info(a, ia) && prog_info(b, ib) &&
	       std::memcmp(ia.tag, ib.tag, sizeof(ia.tag)) == 0;
}

// Ids of the maps a program uses (sorted; empty on error).
std::vector<uint32_t> prog_map_ids(int fd)
{
	bpf_prog_info info;
	if (!prog_info(fd, info) || info.nr_map_ids == 0)
		return {};
	std::vector<uint32_t> ids(info.nr_map_ids);
	uint32_t want = info.nr_map_ids;
	std::memset(&info, 0, sizeof(info));
	info.nr_map_ids = want;
	info.map_ids = reinterpret_cast<uintptr_t>(ids.data());
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
		return {};
	ids.resize(std::min(want, info.nr_map_ids));
	std::sort(ids.begin(), ids.end());
	return ids;
}

// A pinned program can go on running only if it uses the same pinned maps
// as the new object's program: the tag covers the code, not which maps it
// references, and a map replaced by the load (pin_migration.hpp) must not
// be left to a program that still writes to the old one.
bool same_shared_maps(int pinned, int fresh, const std::vector<uint32_t> &shared)
{
	std::vector<uint32_t> need, have = prog_map_ids(pinned), fresh_ids = prog_map_ids(fresh);
	std::set_intersection(fresh_ids.begin(), fresh_ids.end(), shared.begin(), shared.end(),
			      std::back_inserter(need));
	return !need.empty() && std::includes(have.begin(), have.end(), need.begin(), need.end());
}

// The load-time settings (.rodata) a program was loaded with. The tag
// covers the code before verification, not these, and the verifier
// prunes code by them (redirect_peer_ok drops a helper call): settings
// that differ make the pinned program stale too.
std::vector<uint8_t> rodata_of(int prog)
{
	for (uint32_t id : prog_map_ids(prog)) {
		Fd map(bpf_map_get_fd_by_id(id));
		bpf_map_info info{};
		uint32_t len = sizeof(info);
		if (!map.valid() || bpf_obj_get_info_by_fd(map.get(), &info, &len) != 0 ||
		    std::string_view(info.name).find(".rodata") == std::string_view::npos)
			continue;
		std::vector<uint8_t> value(info.value_size);
		uint32_t key = 0;
		if (bpf_map_lookup_elem(map.get(), &key, value.data()) == 0)
			return value;
	}
	return {};
}

bool still_current(int pinned, int fresh, const std::vector<uint32_t> &shared)
{
	return same_code(pinned, fresh) && same_shared_maps(pinned, fresh, shared) &&
	       rodata_of(pinned) == rodata_of(fresh);
}

ActiveProgram dup_program(int fd)
{
	ActiveProgram p;
	p.fd.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
	p.id = prog_id(p.fd.get());
	return p;
}

} // namespace

uint32_t prog_id(int fd)
{
	bpf_prog_info info;
	return prog_info(fd, info) ? info.id : 0;
}

Result<ActivePrograms> activate_programs(SteerObject &obj, const std::string &pin_dir)
{
	Fd pinned_in(bpf_obj_get((pin_dir + "/prog_ingress").c_str()));
	Fd pinned_ret(bpf_obj_get((pin_dir + "/prog_return").c_str()));
	std::vector<uint32_t> shared = obj.shared_map_ids();
	ActivePrograms out;
	if (pinned_in.valid() && pinned_ret.valid() && still_current(pinned_in.get(), obj.ingress_fd(), shared) &&
	    still_current(pinned_ret.get(), obj.return_fd(), shared)) {
		out.ingress = dup_program(pinned_in.get());
		out.ret = dup_program(pinned_ret.get());
		return out;
	}
	if (Status st = obj.pin_programs(pin_dir); !st)
		return st.error();
	out.ingress = dup_program(obj.ingress_fd());
	out.ret = dup_program(obj.return_fd());
	out.replaced = true;
	LOG_INFO("programs of %s: ist_ingress %u -> %u, ist_return %u -> %u", pin_dir.c_str(),
		 prog_id(pinned_in.get()), out.ingress.id, prog_id(pinned_ret.get()), out.ret.id);
	return out;
}

} // namespace steer
