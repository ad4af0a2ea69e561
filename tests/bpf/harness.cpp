#include "harness.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>

namespace steer::test {

bool ci_mode()
{
	const char *ci = std::getenv("CI");
	return ci && std::string(ci) == "true";
}

bool enter_private_netns(int veths, std::string &why)
{
	if (::geteuid() != 0) {
		why = "not root";
		return false;
	}
	if (::unshare(CLONE_NEWNET) != 0) {
		why = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
		return false;
	}
	std::string cmd = "ip link set lo up";
	for (int i = 0; i < veths; i++)
		cmd += " && ip link add t" + std::to_string(i) + "a type veth peer name t" +
		       std::to_string(i) + "b";
	if (std::system(cmd.c_str()) != 0) {
		why = "could not create test veths: " + cmd;
		return false;
	}
	return true;
}

std::unique_ptr<ProgHarness> ProgHarness::create(uint32_t stats_gateways, std::string &why,
						 bool gateway_cache)
{
	LoadOptions opts;
	opts.stats_gateways = stats_gateways;
	opts.record_decisions = true;
	opts.gateway_cache = gateway_cache;
	auto obj = SteerObject::load(opts);
	if (!obj) {
		why = obj.error().message();
		return nullptr;
	}
	std::unique_ptr<ProgHarness> h(new ProgHarness(std::move(*obj)));
	h->stats_entries_ = stats_gateways * STEER_CLASS_MAX;
	return h;
}

std::optional<ProgDecision> ProgHarness::try_run(std::span<const uint8_t> frame, uint32_t ifindex)
{
	__sk_buff ctx{};
	ctx.ifindex = ifindex;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
		    .data_size_in = static_cast<__u32>(frame.size()), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	uint32_t zero = 0;
	steer_decision before{};
	bpf_map_lookup_elem(obj_->decision_fd(), &zero, &before);
	if (bpf_prog_test_run_opts(obj_->ingress_fd(), &opts) != 0)
		return std::nullopt;
	ProgDecision out;
	out.verdict = static_cast<int>(opts.retval);
	bpf_map_lookup_elem(obj_->decision_fd(), &zero, &out.recorded);
	if (out.recorded.seq != before.seq + 1)
		ADD_FAILURE() << "program did not record a decision";
	return out;
}

ProgDecision ProgHarness::run(std::span<const uint8_t> frame, uint32_t ifindex)
{
	auto d = try_run(frame, ifindex);
	if (!d) {
		ADD_FAILURE() << "BPF_PROG_RUN failed: " << std::strerror(errno) << " (frame of "
			      << frame.size() << " bytes)";
		return {};
	}
	return *d;
}

void ProgHarness::clear_frags()
{
	steer_frag_key key{};
	while (bpf_map_get_next_key(obj_->frags_fd(), nullptr, &key) == 0)
		bpf_map_delete_elem(obj_->frags_fd(), &key);
}

void ProgHarness::clear_stats()
{
	int ncpu = libbpf_num_possible_cpus();
	std::vector<steer_counter> zeros(ncpu);
	for (uint32_t i = 0; i < stats_entries_; i++)
		bpf_map_update_elem(obj_->stats_fd(), &i, zeros.data(), BPF_ANY);
}

int run_bpf_tests(int argc, char **argv, int veths, bool one_cpu)
{
	::testing::InitGoogleTest(&argc, argv);
	std::string why;
	if (::geteuid() == 0 && !enter_private_netns(veths, why)) {
		std::fprintf(stderr, "cannot set up: %s\n", why.c_str());
		return 1;
	}
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (one_cpu && sched_setaffinity(0, sizeof(one), &one) != 0) {
		std::perror("sched_setaffinity");
		return 1;
	}
	return RUN_ALL_TESTS();
}

} // namespace steer::test
