// FrameGen recipes: (a) valid frames of every class for the configured
// gateways and (b) near misses that must not be steered.
#include "frame_gen.hpp"

#include <algorithm>

namespace steer::test {

namespace {

constexpr uint64_t kValidRecipes = 10;

const GatewayEntry &pick_gateway(const GatewaySet &set, uint64_t r)
{
	return set.entries()[r % set.entries().size()];
}

} // namespace

uint32_t FrameGen::esp_spi()
{
	// SPIs 1..255 are reserved (RFC 4303 2.1); NAT-T relies on it.
	return static_cast<uint32_t>(between(256, 0xffffffffu));
}

// A small pool of ids per flow keeps the frags table far below the LRU
// map's size, so the program never evicts what the reference keeps.
uint32_t FrameGen::frag_id(uint8_t family)
{
	uint32_t id = static_cast<uint32_t>(between(1, 16));
	return family == STEER_FAMILY_IPV6 ? 0x10000u + id : id;
}

IkeOptions FrameGen::random_ike()
{
	static constexpr uint8_t exchanges[] = {34, 35, 36, 37}; // SA_INIT, AUTH, CHILD_SA, INFORMATIONAL
	IkeOptions o;
	o.spi_i = rng_();
	o.spi_r = chance(30) ? 0 : rng_();
	o.exchange = exchanges[below(4)];
	o.flags = chance(50) ? 0x08 : 0x20; // Initiator, or Response
	o.message_id = static_cast<uint32_t>(below(16));
	o.body = random_bytes(random_payload_len(0, 600));
	return o;
}

// ---- (a) valid ---------------------------------------------------------

FrameGen::Made FrameGen::make_valid(bool queue_followers)
{
	const GatewayEntry &gw = pick_gateway(gateways_, rng_());
	return valid_recipe(flow_to(gw), below(kValidRecipes), queue_followers);
}

FrameGen::Made FrameGen::valid_recipe(const Flow &f, uint64_t which, bool queue_followers)
{
	switch (which) {
	case 0: return valid_esp(f);
	case 1: return valid_ah(f);
	case 2: return valid_ike(f);
	case 3: return valid_natt_ike(f);
	case 4: return valid_natt_esp(f);
	case 5: return valid_keepalive(f);
	case 6: return valid_icmp_error(f);
	case 7:
	case 8: return valid_first_fragment(f, queue_followers);
	default: return valid_atomic_fragment(f);
	}
}

FrameGen::Made FrameGen::valid_esp(const Flow &f)
{
	PacketBuilder b = start(f);
	b.esp(EspOptions{esp_spi(), static_cast<uint32_t>(rng_()), random_bytes(random_payload_len(16, 1400))});
	return finish(b, f, "esp");
}

FrameGen::Made FrameGen::valid_ah(const Flow &f)
{
	static constexpr uint8_t protected_protos[] = {4, 6, 17, 41};
	AhOptions o;
	o.spi = esp_spi();
	o.seq = static_cast<uint32_t>(rng_());
	// 12 + ICV is a multiple of 8 for IPv6 (RFC 4302 2.2), of 4 for IPv4.
	o.icv_len = f.dst.family == STEER_FAMILY_IPV6 ? (chance(50) ? 12 : 20) : (chance(50) ? 12 : 16);
	o.next_header = protected_protos[below(4)];
	PacketBuilder b = start(f);
	b.ah(o).raw(random_bytes(random_payload_len(20, 1200)));
	return finish(b, f, "ah");
}

FrameGen::Made FrameGen::valid_ike(const Flow &f)
{
	uint16_t port = f.gw->value.ike_port;
	uint16_t sport = chance(70) ? port : static_cast<uint16_t>(between(1024, 65535));
	PacketBuilder b = start(f);
	b.udp(sport, port).ike(random_ike());
	return finish(b, f, "ike");
}

FrameGen::Made FrameGen::valid_natt_ike(const Flow &f)
{
	uint16_t port = f.gw->value.natt_port;
	uint16_t sport = chance(50) ? port : static_cast<uint16_t>(between(1024, 65535));
	PacketBuilder b = start(f);
	b.udp(sport, port).natt_ike(random_ike());
	return finish(b, f, "natt-ike");
}

FrameGen::Made FrameGen::valid_natt_esp(const Flow &f)
{
	uint16_t port = f.gw->value.natt_port;
	uint16_t sport = chance(50) ? port : static_cast<uint16_t>(between(1024, 65535));
	PacketBuilder b = start(f);
	b.udp(sport, port).esp_in_udp(
		EspOptions{esp_spi(), static_cast<uint32_t>(rng_()), random_bytes(random_payload_len(16, 1400))});
	return finish(b, f, "natt-esp");
}

FrameGen::Made FrameGen::valid_keepalive(const Flow &f)
{
	uint16_t port = f.gw->value.natt_port;
	uint16_t sport = chance(50) ? port : static_cast<uint16_t>(between(1024, 65535));
	PacketBuilder b = start(f);
	b.udp(sport, port).natt_keepalive();
	return finish(b, f, "natt-keepalive");
}

// What the gateway might have sent and a router bounced: mostly from the
// gateway's address and of a steered protocol, some not (then PASSED).
PacketBuilder FrameGen::quoted_packet(const Flow &f)
{
	const GatewayEntry &gw = *f.gw;
	Flow sent{gw.ifindex, chance(75) ? gw.address : peer_address(gw.family()), peer_address(gw.family()), &gw};
	PacketBuilder inner;
	if (sent.src.family == STEER_FAMILY_IPV4)
		inner.ipv4(ipv4_options(sent, {})); // sometimes with options: inner IHL > 20
	else
		inner.ip(sent.src, sent.dst);
	uint64_t r = below(100);
	uint16_t ephemeral = static_cast<uint16_t>(between(1024, 65535));
	if (r < 30)
		inner.esp(esp_spi(), 1, random_payload_len(16, 1200));
	else if (r < 45)
		inner.ah(AhOptions{}).raw(random_bytes(32), 6);
	else if (r < 60)
		inner.udp(gw.value.ike_port, ephemeral).ike(random_ike());
	else if (r < 75)
		inner.udp(gw.value.natt_port, ephemeral).esp(esp_spi(), 1, random_payload_len(16, 1200));
	else if (r < 85)
		inner.udp(ephemeral, gw.value.ike_port).ike(random_ike());
	else
		inner.tcp(TcpOptions{ephemeral, 443, static_cast<uint32_t>(rng_()), 0x18});
	return inner;
}

FrameGen::Made FrameGen::valid_icmp_error(const Flow &to_gw)
{
	Flow f = to_gw;
	f.src = router_address(f.dst.family);
	PacketBuilder inner = quoted_packet(f);
	BuiltFrame quote = inner.build_layers();
	size_t inner_l4 = quote.layers.size() > 1 ? quote.layers[1].offset : 20;
	IcmpOptions icmp;
	std::optional<size_t> limit;
	if (f.dst.family == STEER_FAMILY_IPV4) {
		icmp.type = 3;
		icmp.code = static_cast<uint8_t>(below(16));
		icmp.rest = icmp.code == 4 ? static_cast<uint32_t>(between(552, 1500)) : 0;
		// RFC 792 quotes the header and 64 bits; RFC 1812 routers more.
		limit = chance(50) ? inner_l4 + 8 : 548;
	} else {
		icmp.type = chance(50) ? 1 : 2;
		icmp.code = icmp.type == 1 ? static_cast<uint8_t>(below(7)) : 0;
		icmp.rest = icmp.type == 2 ? static_cast<uint32_t>(between(1280, 1500)) : 0;
		limit = 1232 - 48; // RFC 4443: within the minimum MTU
	}
	PacketBuilder b = start(f);
	b.icmp_error(icmp, inner, limit);
	return finish(b, f, "icmp-error");
}

// A first fragment of UDP to the IKE or NAT-T port, of ESP or of AH. Its
// fragmentable part is a multiple of 8 bytes, so the later fragment's
// offset follows from it; that one is queued for next().
FrameGen::Made FrameGen::valid_first_fragment(const Flow &f, bool queue_follower)
{
	const bool v6 = f.dst.family == STEER_FAMILY_IPV6;
	FragPlan plan{FragKind::first, frag_id(f.dst.family), 0, true, 0, v6 && chance(5)};
	FragPlan later{FragKind::non_first, plan.id, 0, chance(20), 0, false};
	size_t later_len = random_payload_len(8, 800, later.more ? 8 : 1);
	size_t payload = random_payload_len(8, 1200, 8);
	PacketBuilder b = start(f, plan);
	uint64_t r = below(100);
	std::string recipe;
	size_t upper_header = 8; // UDP or ESP; AH below
	if (r < 50) {
		uint16_t port = r < 25 ? f.gw->value.ike_port : f.gw->value.natt_port;
		// The UDP length covers the whole datagram, this fragment and the rest.
		UdpOptions udp{port, port, static_cast<uint16_t>(8 + payload + later_len), std::nullopt};
		b.udp(udp).raw(random_bytes(payload));
		later.proto = 17;
		recipe = r < 25 ? "ike" : "natt";
	} else if (r < 85) {
		b.esp(EspOptions{esp_spi(), 1, random_bytes(payload)});
		later.proto = 50;
		recipe = "esp";
	} else {
		b.ah(AhOptions{}).raw(random_bytes(payload), 6);
		upper_header = 24; // 12 + the default 12-byte ICV
		later.proto = 51;
		recipe = "ah";
	}
	size_t fragmentable = (plan.dest_opts_after ? 8 : 0) + upper_header + payload;
	later.offset_units = static_cast<uint16_t>(fragmentable / 8);
	if (plan.dest_opts_after)
		later.proto = 60; // what the datagram's fragmentable part starts with
	if (queue_follower && chance(opts_.follower_percent)) {
		Made m = non_first_fragment(f, later);
		m.recipe += "-after-" + recipe;
		followers_.push_back(to_generated(std::move(m), FrameOrigin::valid));
	}
	return finish(b, f, "first-fragment-" + recipe + (plan.dest_opts_after ? "-dstopts" : ""));
}

FrameGen::Made FrameGen::non_first_fragment(const Flow &f, const FragPlan &frag)
{
	PacketBuilder b = start(f, frag);
	b.raw(random_bytes(random_payload_len(8, 800, frag.more ? 8 : 1)), frag.proto);
	return finish(b, f, "non-first-fragment");
}

// IPv6 fragment header with offset 0 and no M (RFC 6946): not a fragment.
FrameGen::Made FrameGen::valid_atomic_fragment(const Flow &f)
{
	if (f.dst.family == STEER_FAMILY_IPV4)
		return valid_esp(f);
	FragPlan plan{FragKind::atomic, frag_id(f.dst.family), 0, false, 0, false};
	PacketBuilder b = start(f, plan);
	if (chance(50))
		b.esp(esp_spi(), 1, random_payload_len(16, 1000));
	else
		b.udp(f.gw->value.natt_port, f.gw->value.natt_port).natt_keepalive();
	return finish(b, f, "atomic-fragment");
}

// ---- (b) near misses ---------------------------------------------------

FrameGen::Made FrameGen::make_near_miss()
{
	const GatewayEntry &gw = pick_gateway(gateways_, rng_());
	Flow f = flow_to(gw);
	switch (below(8)) {
	case 0: return near_other_address();
	case 1: return near_other_interface();
	case 2: return near_other_port(f);
	case 3: return near_non_error_icmp(f);
	case 4: return near_tcp(f);
	case 5: return near_not_ip(f);
	case 6: return near_wrong_family_icmp(f);
	default: return near_orphan_fragment(f);
	}
}

// A valid recipe to an address next to a gateway's: not ours.
FrameGen::Made FrameGen::near_other_address()
{
	const GatewayEntry &gw = pick_gateway(gateways_, rng_());
	Flow f = flow_to(gw);
	size_t last = f.dst.family == STEER_FAMILY_IPV6 ? 15 : 3;
	do
		f.dst.bytes[last] = static_cast<uint8_t>(rng_());
	while (gateways_.is_gateway_address(f.dst));
	Made m = valid_recipe(f, below(kValidRecipes), false);
	m.recipe += "@other-address";
	return m;
}

// A valid recipe arriving on an interface where its address is no gateway.
FrameGen::Made FrameGen::near_other_interface()
{
	const GatewayEntry &gw = pick_gateway(gateways_, rng_());
	Flow f = flow_to(gw);
	f.ifindex = gateways_.spare_ifindex();
	const std::vector<uint32_t> &ifs = gateways_.public_ifindexes();
	uint32_t other = ifs[below(ifs.size())];
	if (chance(50) && gateways_.find(other, gw.address) == nullptr)
		f.ifindex = other;
	Made m = valid_recipe(f, below(kValidRecipes), false);
	m.recipe += "@other-interface";
	return m;
}

FrameGen::Made FrameGen::near_other_port(const Flow &f)
{
	uint16_t sport = static_cast<uint16_t>(between(1024, 65535));
	uint16_t dport = 0;
	uint64_t r = below(3);
	if (r == 0) {
		// Not in the bitmap: never looked up.
		do
			dport = static_cast<uint16_t>(between(1, 65535));
		while (std::find(gateway_ports_.begin(), gateway_ports_.end(), dport) != gateway_ports_.end());
	} else if (r == 1) {
		// Another gateway's port: in the bitmap, PASSED for this one
		// (or steered when it happens to be this gateway's own).
		dport = gateway_ports_[below(gateway_ports_.size())];
	} else {
		// Reversed: from the IKE port to an ephemeral one.
		sport = f.gw->value.ike_port;
		dport = static_cast<uint16_t>(between(1024, 65535));
	}
	PacketBuilder b = start(f);
	b.udp(sport, dport);
	if (chance(50))
		b.natt_keepalive();
	else
		b.ike(random_ike());
	return finish(b, f, "udp-other-port");
}

FrameGen::Made FrameGen::near_non_error_icmp(const Flow &to_gw)
{
	// Echo, echo reply, time exceeded, parameter problem, redirect; for
	// IPv6 also neighbour solicitation/advertisement.
	static constexpr uint8_t v4_types[] = {0, 8, 11, 12, 5};
	static constexpr uint8_t v6_types[] = {128, 129, 3, 4, 135, 136};
	Flow f = to_gw;
	f.src = router_address(f.dst.family);
	bool v6 = f.dst.family == STEER_FAMILY_IPV6;
	IcmpOptions icmp;
	icmp.type = v6 ? v6_types[below(6)] : v4_types[below(5)];
	icmp.code = static_cast<uint8_t>(below(2));
	PacketBuilder b = start(f);
	bool quoting = icmp.type == 11 || icmp.type == 12 || icmp.type == 3 || icmp.type == 4;
	if (quoting) // about a steered flow, yet not an error type we steer
		b.icmp_error(icmp, quoted_packet(f), 548);
	else
		b.icmp(icmp, random_bytes(random_payload_len(0, 200)));
	return finish(b, f, "icmp-non-error");
}

FrameGen::Made FrameGen::near_tcp(const Flow &f)
{
	const uint16_t ports[] = {500, 4500, 443, 22, f.gw->value.ike_port, f.gw->value.natt_port};
	PacketBuilder b = start(f);
	b.tcp(TcpOptions{static_cast<uint16_t>(between(1024, 65535)), ports[below(6)],
			 static_cast<uint32_t>(rng_()), 0x02});
	if (chance(50))
		b.raw(random_bytes(random_payload_len(1, 400)));
	return finish(b, f, "tcp");
}

FrameGen::Made FrameGen::near_not_ip(const Flow &f)
{
	PacketBuilder b;
	std::string recipe;
	uint64_t r = below(3);
	if (r == 0) {
		b.eth(EthOptions{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {2, 0, 0, 0, 0, 2}, ethertype::arp});
		b.raw(random_bytes(28));
		recipe = "arp";
	} else if (r == 1) {
		// Two tags: only one is read, so the inner ethertype is "not IP".
		b.eth().qinq(static_cast<uint16_t>(between(1, 4094))).vlan(static_cast<uint16_t>(between(1, 4094)));
		add_ip(b, f, {});
		b.esp(esp_spi(), 1, random_payload_len(16, 400));
		recipe = "double-tagged-esp";
	} else {
		b.eth(EthOptions{{1, 0x80, 0xc2, 0, 0, 0x0e}, {2, 0, 0, 0, 0, 2}, 0x88cc}); // LLDP
		b.raw(random_bytes(random_payload_len(20, 200)));
		recipe = "lldp";
	}
	return finish(b, f, recipe);
}

// ICMP numbers in the other family: IPv4 protocol 58, IPv6 next header 1.
FrameGen::Made FrameGen::near_wrong_family_icmp(const Flow &f)
{
	bool v6 = f.dst.family == STEER_FAMILY_IPV6;
	Bytes icmp = {static_cast<uint8_t>(v6 ? 3 : 1), 0, 0, 0, 0, 0, 0, 0};
	Bytes quote = quoted_packet(f).build();
	icmp.insert(icmp.end(), quote.begin(), quote.end());
	PacketBuilder b = start(f);
	b.raw(icmp, v6 ? 1 : 58);
	return finish(b, f, "icmp-wrong-family");
}

// A later fragment whose first one never came: its id is outside the pool.
FrameGen::Made FrameGen::near_orphan_fragment(const Flow &f)
{
	static constexpr uint8_t protos[] = {17, 50, 51, 6, 1, 58};
	FragPlan frag{FragKind::non_first, static_cast<uint32_t>(between(1000, 60000)),
		      static_cast<uint16_t>(between(1, 8191)), chance(50), protos[below(6)], false};
	Made m = non_first_fragment(f, frag);
	m.recipe += "-orphan";
	return m;
}

} // namespace steer::test
