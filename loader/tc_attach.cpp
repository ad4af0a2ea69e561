#include "tc_attach.hpp"

#include <bpf/libbpf.h>

#include <string>

#include "tc.hpp"

namespace steer {

namespace {

bpf_tc_hook make_hook(int ifindex, TcDirection dir)
{
	bpf_tc_hook hook{};
	hook.sz = sizeof(hook);
	hook.ifindex = ifindex;
	hook.attach_point = dir == TcDirection::ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
	return hook;
}

bpf_tc_opts make_opts(int prog_fd)
{
	bpf_tc_opts opts{};
	opts.sz = sizeof(opts);
	opts.handle = tc_handle;
	opts.priority = tc_priority;
	opts.prog_fd = prog_fd;
	return opts;
}

std::string where(int ifindex)
{
	return "ifindex " + std::to_string(ifindex);
}

} // namespace

Status tc_attach(int ifindex, TcDirection dir, int prog_fd)
{
	bpf_tc_hook hook = make_hook(ifindex, dir);
	int err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return sys_error(err, "create clsact qdisc", where(ifindex));
	bpf_tc_opts opts = make_opts(prog_fd);
	opts.flags = BPF_TC_F_REPLACE;
	if ((err = bpf_tc_attach(&hook, &opts)))
		return sys_error(err, "attach tc filter", where(ifindex));
	return {};
}

Status tc_detach(int ifindex, TcDirection dir)
{
	bpf_tc_hook hook = make_hook(ifindex, dir);
	bpf_tc_opts opts = make_opts(0);
	int err = bpf_tc_detach(&hook, &opts);
	if (err && err != -ENOENT && err != -EINVAL && err != -ENODEV)
		return sys_error(err, "detach tc filter", where(ifindex));
	// The clsact qdisc goes too when no filter of anyone is left on it.
	auto left = ns::clsact_filter_count(ifindex);
	if (left && *left == 0) {
		hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
		err = bpf_tc_hook_destroy(&hook);
		if (err && err != -ENOENT && err != -EINVAL && err != -ENODEV)
			return sys_error(err, "remove clsact qdisc", where(ifindex));
	}
	return {};
}

Result<std::optional<uint32_t>> tc_query(int ifindex, TcDirection dir)
{
	bpf_tc_hook hook = make_hook(ifindex, dir);
	bpf_tc_opts opts = make_opts(0);
	int err = bpf_tc_query(&hook, &opts);
	if (err == -ENOENT || err == -EINVAL)
		return std::optional<uint32_t>{};
	if (err)
		return sys_error(err, "query tc filter", where(ifindex));
	return std::optional<uint32_t>{opts.prog_id};
}

} // namespace steer
