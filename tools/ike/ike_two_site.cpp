// Builds the two-site lab of ike_lab.hpp, brings the IKEv2 tunnel up from
// site A, pings LAN B from LAN A and prints the steering counters. With
// --hold it then waits for Enter (or SIGINT/SIGTERM) before removing
// everything, so the namespaces can be inspected:
//   ip netns exec ik<pid>-ra tcpdump -ni pub
//   swanctl --list-sas --uri unix:///tmp/ik<pid>-lab/a/charon.vici
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "ike_lab.hpp"
#include "lan_traffic.hpp"

using namespace steer;
using namespace std::chrono_literals;

namespace {

volatile sig_atomic_t stop = 0;

int fail(const char *what, const Error &e)
{
	std::fprintf(stderr, "ike_two_site: %s: %s\n", what, e.message().c_str());
	return 1;
}

void print_counters(ike::TwoSiteLab &lab, ike::Side s, const char *name)
{
	auto c = lab.counters(s);
	if (!c)
		return;
	std::printf("steer_ingress counters, router %s:", name);
	for (uint32_t k = 0; k < STEER_CLASS_MAX; k++)
		if ((*c)[k].packets)
			std::printf(" %s=%llu", class_name(k), (unsigned long long)(*c)[k].packets);
	std::printf("\n");
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
		std::fprintf(stderr, "ike_two_site: needs root\n");
		return 1;
	}
	if (std::string missing = ike::strongswan_missing(); !missing.empty()) {
		std::fprintf(stderr, "ike_two_site: missing: %s\n", missing.c_str());
		return 1;
	}
	// SIGINT/SIGTERM stop at the next step (or end the wait below); the
	// destructors then remove everything. Handlers, unlike a blocked
	// mask, are not inherited by charon, tcpdump or swanctl.
	struct sigaction sa{};
	sa.sa_handler = [](int) { stop = 1; };
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);

	ike::TwoSiteLab lab;
	if (Status st = lab.build(); !st)
		return fail("build", st.error());
	if (stop)
		return 1;
	if (Status st = lab.start_ike(); !st)
		return fail("start charon", st.error());
	if (stop)
		return 1;
	if (Status st = lab.initiate(ike::Side::a); !st)
		return fail("initiate", st.error());
	auto replies = ike::ping(lab.lan_ns(ike::Side::a), lab.site(ike::Side::b).host(), 3, 1000ms);
	if (!replies)
		return fail("ping", replies.error());
	std::printf("ping %s -> %s: %d/3 replies\n", lab.site(ike::Side::a).host().c_str(),
		    lab.site(ike::Side::b).host().c_str(), *replies);
	print_counters(lab, ike::Side::a, "A");
	print_counters(lab, ike::Side::b, "B");
	std::printf("\n# what `ipsec-steer up` gets for site A:\n%s\n",
		    lab.gateway_config(ike::Side::a).c_str());
	if (hold) {
		std::printf("namespaces: %s %s %s | %s %s %s\nconfig: %s %s\n"
			    "press Enter (or send SIGINT) to tear down\n",
			    lab.lan_ns(ike::Side::a).c_str(), lab.router_ns(ike::Side::a).c_str(),
			    lab.gateway_ns(ike::Side::a).c_str(), lab.lan_ns(ike::Side::b).c_str(),
			    lab.router_ns(ike::Side::b).c_str(), lab.gateway_ns(ike::Side::b).c_str(),
			    lab.conf_dir(ike::Side::a).c_str(), lab.conf_dir(ike::Side::b).c_str());
		std::fflush(stdout);
		// Enter on stdin, or a signal, whichever first.
		char c;
		if (!stop)
			(void)::read(0, &c, 1);
	}
	return *replies == 3 ? 0 : 1;
}
