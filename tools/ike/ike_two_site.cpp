// `make demo`: two IPsec sites joined by strongSwan through ipsec-steer.
// Builds the two-site lab of ike_lab.hpp (each gateway made by `ipsec-steer
// up`, charon started in it with `ipsec-steer exec`), brings the IKEv2
// tunnel up from site A, pings LAN B from LAN A, prints `ipsec-steer
// status` and `ipsec-steer stats` of both sites, and removes everything
// with `ipsec-steer down`. Exit status 0 only when every ping was answered
// and nothing of the tool's was left. With --hold it waits for Enter (or
// SIGINT/SIGTERM) before tearing down, so the namespaces can be inspected:
//   ip netns exec ik<pid>-ra tcpdump -ni pub
//   swanctl --list-sas --uri unix:///tmp/ik<pid>-lab/a/charon.vici
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "ike_lab.hpp"
#include "lan_traffic.hpp"

using namespace steer;
using namespace std::chrono_literals;
using ike::Side;

namespace {

volatile sig_atomic_t stop = 0;

int fail(const char *what, const Error &e)
{
	std::fprintf(stderr, "demo: %s: %s\n", what, e.message().c_str());
	return 1;
}

const char *name(Side s) { return s == Side::a ? "A" : "B"; }

// Shows a command line of the tool and runs it, its output passed through.
void show(const ike::TwoSiteLab &lab, Side s, const std::string &args)
{
	std::printf("\n$ ipsec-steer %s -c %s\n", args.c_str(), lab.config_file(s).c_str());
	std::fflush(stdout);
	(void)lab::sh(lab.steer_command(s, args));
}

void show_ike_counters(const ike::TwoSiteLab &lab, const char *when)
{
	for (Side s : {Side::a, Side::b}) {
		auto c = lab.counters(s);
		if (!c)
			continue;
		std::printf("%s, site %s: in ike=%llu natt_ike=%llu natt_esp=%llu | out ike=%llu natt_ike=%llu natt_esp=%llu\n",
			    when, name(s), (unsigned long long)c->in["ike"], (unsigned long long)c->in["natt_ike"],
			    (unsigned long long)c->in["natt_esp"], (unsigned long long)c->out["ike"],
			    (unsigned long long)c->out["natt_ike"], (unsigned long long)c->out["natt_esp"]);
	}
}

} // namespace

int main(int argc, char **argv)
{
	bool hold = argc > 1 && std::strcmp(argv[1], "--hold") == 0;
	if (argc > 1 && !hold) {
		std::fprintf(stderr, "usage: ike_two_site [--hold]\n");
		return 2;
	}
	if (::geteuid() != 0) {
		std::fprintf(stderr, "demo: needs root (namespaces, BPF); run `sudo make demo`\n");
		return 1;
	}
	if (std::string missing = ike::strongswan_missing(); !missing.empty()) {
		std::fprintf(stderr, "demo: missing: %s (tools/install-deps.sh)\n", missing.c_str());
		return 1;
	}
	// SIGINT/SIGTERM stop at the next step (or end the wait below); the
	// destructor then removes everything. Handlers, unlike a blocked mask,
	// are not inherited by charon or swanctl.
	struct sigaction sa{};
	sa.sa_handler = [](int) { stop = 1; };
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);

	ike::TwoSiteLab lab;
	std::printf("== two sites, strongSwan in gateway namespaces made by ipsec-steer\n"
		    "site A: LAN %s, router %s (pub %s), gateway %s\n"
		    "site B: LAN %s, router %s (pub %s), gateway %s\n",
		    lab.site(Side::a).subnet.c_str(), lab.router_ns(Side::a).c_str(),
		    lab.site(Side::a).public_address.c_str(), lab.gateway_ns(Side::a).c_str(),
		    lab.site(Side::b).subnet.c_str(), lab.router_ns(Side::b).c_str(),
		    lab.site(Side::b).public_address.c_str(), lab.gateway_ns(Side::b).c_str());
	std::printf("\n# %s\n%s", lab.config_file(Side::a).c_str(), lab.gateway_config(Side::a).c_str());
	if (Status st = lab.build(); !st)
		return fail("build (ipsec-steer up)", st.error());
	std::printf("\n$ ipsec-steer up -c site-a.toml; ipsec-steer up -c site-b.toml   (%.0f ms)\n",
		    lab.up_time().count() * 1000);
	show_ike_counters(lab, "counters after up");
	if (stop)
		return 1;
	if (Status st = lab.start_ike(); !st)
		return fail("start charon (ipsec-steer exec)", st.error());
	std::printf("\ncharon started in both gateways: ipsec-steer exec <gateway> -- charon\n");
	if (stop)
		return 1;
	if (Status st = lab.initiate(Side::a); !st)
		return fail("initiate", st.error());
	std::printf("IKEv2 tunnel up: %s <-> %s (initiated from A)\n", lab.site(Side::a).subnet.c_str(),
		    lab.site(Side::b).subnet.c_str());
	auto replies = ike::ping(lab.lan_ns(Side::a), lab.site(Side::b).host, 3, 1000ms);
	if (!replies)
		return fail("ping", replies.error());
	std::printf("\nping %s (LAN A) -> %s (LAN B): %d/3 replies\n", lab.site(Side::a).host.c_str(),
		    lab.site(Side::b).host.c_str(), *replies);
	for (Side s : {Side::a, Side::b})
		show(lab, s, "status");
	for (Side s : {Side::a, Side::b})
		show(lab, s, "stats");
	std::printf("\n");
	show_ike_counters(lab, "counters now");
	if (hold) {
		std::printf("\nnamespaces: %s %s %s | %s %s %s\nconfigs: %s %s\n"
			    "press Enter (or send SIGINT) to tear down\n",
			    lab.lan_ns(Side::a).c_str(), lab.router_ns(Side::a).c_str(),
			    lab.gateway_ns(Side::a).c_str(), lab.lan_ns(Side::b).c_str(),
			    lab.router_ns(Side::b).c_str(), lab.gateway_ns(Side::b).c_str(),
			    lab.config_file(Side::a).c_str(), lab.config_file(Side::b).c_str());
		std::fflush(stdout);
		char c;
		if (!stop)
			(void)::read(0, &c, 1);
	}
	Status down = lab.teardown();
	std::printf("\n$ ipsec-steer down -c site-a.toml; ipsec-steer down -c site-b.toml   (%.0f ms, charon stopped first)\n",
		    lab.down_time().count() * 1000);
	if (!down)
		return fail("ipsec-steer down", down.error());
	std::printf("nothing left: no gateway namespace, ist-* link, protocol-87 rule or route, tc filter or pin\n");
	if (*replies != 3) {
		std::fprintf(stderr, "demo: FAILED: %d of 3 pings answered\n", *replies);
		return 1;
	}
	std::printf("demo OK\n");
	return 0;
}
