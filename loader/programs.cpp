#include "programs.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

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
	ActivePrograms out;
	if (pinned_in.valid() && pinned_ret.valid() && same_code(pinned_in.get(), obj.ingress_fd()) &&
	    same_code(pinned_ret.get(), obj.return_fd())) {
		out.ingress = dup_program(pinned_in.get());
		out.ret = dup_program(pinned_ret.get());
		return out;
	}
	if (Status st = obj.pin_programs(pin_dir); !st)
		return st.error();
	out.ingress = dup_program(obj.ingress_fd());
	out.ret = dup_program(obj.return_fd());
	out.replaced = true;
	return out;
}

} // namespace steer
