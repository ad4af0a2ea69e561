// The classifier lab, shown: a peer sends frames of every class to the
// router's public address; each line says where the frame went (the
// gateway namespace, or left to the router) and then the counters of the
// pinned per-CPU map are printed. Everything is removed at the end.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "packet_builder.hpp"
#include "steer_lab.hpp"

using namespace std::chrono_literals;
using steer::test::Bytes;
using steer::test::PacketBuilder;

namespace {

struct Shown {
	const char *what;
	Bytes frame;
};

PacketBuilder to_p(const steer::lab::SteerLab &lab, const char *dst = steer::lab::SteerLab::public_address)
{
	steer::test::EthOptions e;
	std::copy_n(lab.pub_mac().begin(), 6, e.dst.begin());
	std::copy_n(lab.peer_mac().begin(), 6, e.src.begin());
	PacketBuilder b;
	b.eth(e).ipv4(steer::lab::SteerLab::peer_address, dst);
	return b;
}

std::vector<Shown> frames(const steer::lab::SteerLab &lab)
{
	PacketBuilder quoted;
	quoted.ipv4(steer::lab::SteerLab::public_address, steer::lab::SteerLab::peer_address)
		.udp(4500, 4500).esp(0x77, 1);
	return {
		{"ESP (proto 50)", to_p(lab).esp(0x1234, 1).build()},
		{"IKE (udp/500)", to_p(lab).udp(500, 500).ike().build()},
		{"NAT-T IKE (udp/4500, non-ESP marker)", to_p(lab).udp(4500, 4500).natt_ike().build()},
		{"NAT-T ESP (udp/4500, SPI > 255)", to_p(lab).udp(4500, 4500).esp(0x4321, 2).build()},
		{"NAT-T keepalive (0xff)", to_p(lab).udp(4500, 4500).natt_keepalive().pad_to(60).build()},
		{"ICMP frag-needed quoting our ESP-in-UDP", to_p(lab).icmp_error({3, 4, 1400}, quoted).build()},
		{"DNS (udp/53)", to_p(lab).udp(53, 53).raw(Bytes(12, 7)).build()},
		{"TCP to port 500", to_p(lab).tcp({1000, 500}).build()},
		{"ICMP echo", to_p(lab).icmp({8, 0}, Bytes(16)).build()},
		{"ESP to another address", to_p(lab, "203.0.113.9").esp(1, 1).build()},
		{"udp/4500 with reserved SPI 9", to_p(lab).udp(4500, 4500).raw({0, 0, 0, 9, 0, 0, 0, 1}).build()},
	};
}

int run()
{
	steer::lab::SteerLab lab({"istdemo"});
	if (steer::Status st = lab.build(); !st) {
		std::fprintf(stderr, "demo: lab setup failed: %s\n", st.error().message().c_str());
		return 1;
	}
	std::printf("lab: peer %s -> router pub %s (steer_ingress attached) -> gateway ns %s\n",
		    steer::lab::SteerLab::peer_address, steer::lab::SteerLab::public_address,
		    lab.namespaces().name("gw").c_str());
	std::printf("pins: %s\n\n", lab.pin_dir().c_str());
	auto peer = steer::lab::PacketSocket::open(lab.namespaces().name("peer"), "wan0");
	auto gw = steer::lab::PacketSocket::open(lab.namespaces().name("gw"), "eth0");
	if (!peer || !gw) {
		std::fprintf(stderr, "demo: packet sockets: %s\n",
			     (peer ? gw.error() : peer.error()).message().c_str());
		return 1;
	}
	for (const auto &f : frames(lab)) {
		(void)peer->send(f.frame);
		auto got = gw->drain(100ms);
		bool steered = std::find(got.begin(), got.end(), f.frame) != got.end();
		std::printf("  %-42s -> %s\n", f.what, steered ? "gateway namespace" : "router (untouched)");
	}
	auto counters = steer::read_counters(lab.object().stats_fd(), steer::lab::SteerLab::gateway_id);
	if (!counters)
		return 1;
	std::printf("\ncounters of gateway %u (per-CPU map, summed):\n", steer::lab::SteerLab::gateway_id);
	for (uint32_t c = 0; c < STEER_CLASS_MAX; c++)
		std::printf("  %-16s %6llu packets %8llu bytes\n", steer::class_name(c),
			    static_cast<unsigned long long>((*counters)[c].packets),
			    static_cast<unsigned long long>((*counters)[c].bytes));
	std::printf("\n$ bpftool map dump pinned %s/gateways\n", lab.pin_dir().c_str());
	std::fflush(stdout);
	(void)steer::lab::sh("bpftool map dump pinned " + lab.pin_dir() + "/gateways");
	std::printf("\nremoving the lab\n");
	return 0;
}

} // namespace

int main()
{
	if (::geteuid() != 0) {
		std::fprintf(stderr, "demo: needs root (namespaces, BPF); run `sudo make demo`\n");
		return 1;
	}
	return run();
}
