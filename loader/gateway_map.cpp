// Edits of the gateways map and the ports bitmap derived from it.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <array>

#include "bpf_steer.hpp"

namespace steer {

namespace {

using PortBits = std::array<uint32_t, STEER_PORT_WORDS>;

void set_port(PortBits &bits, uint16_t port)
{
	bits[port >> 5] |= 1u << (port & 31);
}

// The whole bitmap in one BPF_MAP_LOOKUP_BATCH (arrays: kernel 5.6+);
// false when that fails, and then every word is written. `up` syncs on
// every run: one lookup per word was 2,048 of its ~2,130 bpf syscalls.
bool read_ports(int ports_fd, PortBits &have)
{
	std::array<uint32_t, STEER_PORT_WORDS> keys{};
	uint32_t count = STEER_PORT_WORDS, out_batch = 0;
	int rc = bpf_map_lookup_batch(ports_fd, nullptr, &out_batch, keys.data(), have.data(), &count,
				      nullptr);
	if ((rc != 0 && errno != ENOENT) || count != STEER_PORT_WORDS)
		return false;
	for (uint32_t i = 0; i < count; i++)
		if (keys[i] != i)
			return false;
	return true;
}

} // namespace

Result<std::vector<GatewayEntry>> dump_gateways(int gateways_fd)
{
	std::vector<GatewayEntry> out;
	steer_gw_key key{}, next{};
	const void *prev = nullptr;
	while (bpf_map_get_next_key(gateways_fd, prev, &next) == 0) {
		GatewayEntry e{next, {}};
		if (bpf_map_lookup_elem(gateways_fd, &next, &e.value) == 0)
			out.push_back(e);
		key = next;
		prev = &key;
	}
	if (errno != ENOENT)
		return sys_error(errno, "walk gateways map");
	return out;
}

Status sync_ports(int gateways_fd, int ports_fd)
{
	auto entries = dump_gateways(gateways_fd);
	if (!entries)
		return entries.error();
	PortBits want{};
	for (const auto &e : *entries) {
		set_port(want, e.value.ike_port);
		set_port(want, e.value.natt_port);
	}
	PortBits have{};
	bool known = read_ports(ports_fd, have);
	for (uint32_t word = 0; word < STEER_PORT_WORDS; word++) {
		if (known && have[word] == want[word])
			continue;
		if (bpf_map_update_elem(ports_fd, &word, &want[word], BPF_ANY) != 0)
			return sys_error(errno, "update ports bitmap");
	}
	return {};
}

// After every change of the gateways map: the per-CPU caches of
// steer_ingress filled before it stop matching (bpf/lib/gateway_cache.h).
// Read after the change, so a racing writer's lost increment is harmless.
Status bump_generation(int ports_fd)
{
	uint32_t word = STEER_PORTS_GENERATION, gen = 0;
	if (bpf_map_lookup_elem(ports_fd, &word, &gen) != 0)
		return sys_error(errno, "read gateways generation in ports map");
	gen++;
	if (bpf_map_update_elem(ports_fd, &word, &gen, BPF_ANY) != 0)
		return sys_error(errno, "update gateways generation in ports map");
	return {};
}

// The port bits go in first, so the entry is never invisible to UDP.
Status put_gateway(int gateways_fd, int ports_fd, const steer_gw_key &key,
		   const steer_gw_value &value)
{
	for (uint16_t port : {value.ike_port, value.natt_port}) {
		uint32_t word = port >> 5, bits = 0;
		if (bpf_map_lookup_elem(ports_fd, &word, &bits) != 0)
			return sys_error(errno, "read ports bitmap");
		bits |= 1u << (port & 31);
		if (bpf_map_update_elem(ports_fd, &word, &bits, BPF_ANY) != 0)
			return sys_error(errno, "update ports bitmap");
	}
	if (bpf_map_update_elem(gateways_fd, &key, &value, BPF_ANY) != 0)
		return sys_error(errno, "update gateways map");
	return bump_generation(ports_fd);
}

// Entries go first, then the bits no remaining entry needs.
Status delete_gateways(int gateways_fd, int ports_fd, const std::vector<steer_gw_key> &keys)
{
	for (const auto &key : keys)
		if (bpf_map_delete_elem(gateways_fd, &key) != 0 && errno != ENOENT)
			return sys_error(errno, "delete from gateways map");
	// Nothing deleted (every `up` calls this): no cache entry went stale.
	if (!keys.empty())
		if (Status st = bump_generation(ports_fd); !st)
			return st;
	return sync_ports(gateways_fd, ports_fd);
}

Result<ClassCounters> read_counters(int stats_fd, uint32_t gateway_id)
{
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return sys_error(-ncpu, "count possible CPUs");
	ClassCounters sum{};
	std::vector<steer_counter> per_cpu(ncpu);
	for (uint32_t c = 0; c < STEER_CLASS_MAX; c++) {
		uint32_t idx = gateway_id * STEER_CLASS_MAX + c;
		if (bpf_map_lookup_elem(stats_fd, &idx, per_cpu.data()) != 0)
			return sys_error(errno, "read stats map", "gateway id " + std::to_string(gateway_id));
		for (const auto &v : per_cpu) {
			sum[c].packets += v.packets;
			sum[c].bytes += v.bytes;
		}
	}
	return sum;
}

const char *class_name(uint32_t class_id)
{
	static const char *const names[STEER_CLASS_MAX] = {
		"esp", "ah", "ike", "natt_ike", "natt_esp", "natt_keepalive",
		"icmp_error", "fragment", "passed", "target_missing", "malformed",
	};
	return class_id < STEER_CLASS_MAX ? names[class_id] : "none";
}

} // namespace steer
