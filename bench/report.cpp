// Turns the raw JSON of one `make bench` run into bench/results/latest.json
// (everything, plus ratios and the targets as met/missed), a
// Markdown table (latest.md) and gnuplot data (*.dat). Every ratio is
// between figures of the same run; nothing here is a constant result.
// Usage: report RAW_DIR OUT_DIR
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

using nlohmann::json;

namespace {

json read_json(const std::string &path)
{
	std::ifstream f(path);
	if (!f)
		return nullptr;
	try {
		return json::parse(f);
	} catch (const std::exception &) {
		return nullptr;
	}
}

std::string fmt(const char *f, double v)
{
	char buf[64];
	std::snprintf(buf, sizeof(buf), f, v);
	return buf;
}

// Median over rounds of a[i] / b[i]: runs with the same index were
// measured in the same round, so slow drift of the machine's load cancels.
double median_ratio(const json &a, const json &b)
{
	std::vector<double> r;
	for (size_t i = 0; a.is_array() && b.is_array() && i < a.size() && i < b.size(); i++)
		r.push_back(a[i].get<double>() / b[i].get<double>());
	std::sort(r.begin(), r.end());
	size_t n = r.size();
	return n == 0 ? NAN : n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
}

// Datapath medians by "variant/traffic"; NaN when missing.
struct Datapath {
	std::map<std::string, json> cells;
	double ns(const std::string &v, const std::string &t) const
	{
		auto it = cells.find(v + "/" + t);
		return it == cells.end() ? NAN : it->second["median_ns"].get<double>();
	}
	// Median over rounds of the per-round ratio a/b: both were measured in
	// the same round, so drift of the machine's load cancels out.
	double ratio(const std::string &va, const std::string &ta, const std::string &vb,
		     const std::string &tb) const
	{
		auto a = cells.find(va + "/" + ta), b = cells.find(vb + "/" + tb);
		if (a == cells.end() || b == cells.end())
			return NAN;
		return median_ratio(a->second["runs_ns"], b->second["runs_ns"]);
	}
	bool ok(const std::string &v, const std::string &t) const
	{
		auto it = cells.find(v + "/" + t);
		return it != cells.end() && it->second["delivered_ok"].get<bool>();
	}
};

struct Targets {
	json list = json::array();
	// ratio `value` against the limit: at most (`le`) or at least.
	void add(const std::string &what, double value, double limit, bool le, const std::string &note = "")
	{
		bool measured = !std::isnan(value);
		bool met = measured && (le ? value <= limit : value >= limit);
		list.push_back({{"target", what}, {"value", measured ? json(value) : json(nullptr)},
				{"limit", (le ? "<= " : ">= ") + fmt("%.2f", limit)},
				{"status", !measured ? "not measured" : met ? "met" : "MISSED"},
				{"note", note}});
	}
};

const char *kTraffic[] = {"esp", "udp500", "udp4500", "esp6"};
const char *kVariants[] = {"floor", "steer_peer", "steer_plain", "u32_mirred", "nft_fwd", "routing"};

void datapath_targets(const Datapath &d, Targets &t)
{
	for (const char *tr : kTraffic) {
		const std::string pre = std::string("steered ") + tr + ": ";
		t.add(pre + "steer_peer / floor", d.ratio("steer_peer", tr, "floor", tr), 1.05, true);
		t.add(pre + "u32_mirred / steer_peer", d.ratio("u32_mirred", tr, "steer_peer", tr), 1.3, false);
		t.add(pre + "nft_fwd / steer_peer", d.ratio("nft_fwd", tr, "steer_peer", tr), 1.3, false);
		t.add(pre + "routing / steer_peer", d.ratio("routing", tr, "steer_peer", tr), 1.5, false);
	}
	t.add("non-IPsec: steer_ingress / empty program", d.ratio("steer_peer", "tcp_other", "empty", "tcp_other"), 1.05, true);
	t.add("scale: 65,536 gateways / 1 gateway (esp, gateway cache off)",
	      d.ratio("steer_64k", "esp", "steer_nocache", "esp"), 1.1, true);
	t.add("return: routed (accept_local) / steer_return", d.ratio("ret_route", "esp_out", "ret_bpf", "esp_out"), 1.3, false);
	t.add("forward cost per packet: 100,000 pairs / 10 pairs", d.ratio("fw_100k", "esp6", "fw_10", "esp6"), 1.1, true);
	t.add("(former interval-set design) forward cost: 100,000 pairs / 10 pairs",
	      d.ratio("fw_interval_100k", "esp6", "fw_10", "esp6"), 1.1, true,
	      "not a target: the design the hash sets replaced");
}

std::string datapath_md(const Datapath &d, std::ofstream &dat)
{
	std::ostringstream md;
	double base = d.ns("none", "tcp_other");
	md << "## Datapath into the gateway namespace (CPU ns per packet, generator + softirq, "
	      "median; in brackets the median per-round ratio to the redirect floor of the same "
	      "traffic)\n\n| traffic |";
	for (const char *v : kVariants)
		md << " " << v << " |";
	md << "\n|---|";
	for (size_t i = 0; i < std::size(kVariants); i++)
		md << "---:|";
	md << "\n";
	dat << "traffic";
	for (const char *v : kVariants)
		dat << " " << v;
	dat << "\n";
	for (const char *tr : kTraffic) {
		md << "| " << tr << " |";
		dat << tr;
		for (const char *v : kVariants) {
			double ns = d.ns(v, tr);
			md << " " << fmt("%.0f", ns) << " (" << fmt("%.2fx", d.ratio(v, tr, "floor", tr)) << ")"
			   << (d.ok(v, tr) ? "" : " **lost**") << " |";
			dat << " " << fmt("%.1f", ns);
		}
		md << "\n";
		dat << "\n";
	}
	md << "\nThe same, net of the generator (median minus `none`: generator + pub + sink, "
	   << fmt("%.0f", base) << " ns), ratio to the floor's net cost:\n\n| traffic |";
	for (const char *v : kVariants)
		md << " " << v << " |";
	md << "\n|---|";
	for (size_t i = 0; i < std::size(kVariants); i++)
		md << "---:|";
	md << "\n";
	for (const char *tr : kTraffic) {
		md << "| " << tr << " |";
		for (const char *v : kVariants)
			md << " " << fmt("%.0f", d.ns(v, tr) - base) << " ("
			   << fmt("%.2fx", (d.ns(v, tr) - base) / (d.ns("floor", tr) - base)) << ") |";
		md << "\n";
	}
	md << "\n## Non-IPsec traffic, scale, return path, forward through the mesh firewall (CPU ns per packet)\n\n"
	   << "| cell | ns/packet | ratio | against |\n|---|---:|---:|---|\n";
	// One cell against a reference cell of the same group.
	auto row = [&](const char *name, const char *v, const char *t, const char *rv, const char *against) {
		md << "| " << name << " | " << fmt("%.0f", d.ns(v, t)) << " | "
		   << fmt("%.3fx", d.ratio(v, t, rv, t)) << " | " << against << " |\n";
	};
	row("tcp to another address, no program", "none", "tcp_other", "empty", "empty program");
	row("tcp to another address, empty program (floor)", "empty", "tcp_other", "empty", "empty program");
	row("tcp to another address, steer_ingress", "steer_peer", "tcp_other", "empty", "empty program");
	row("esp, 1 gateway (2 map entries: v4 + v6), gateway cache on", "steer_peer", "esp", "steer_nocache",
	    "1 gateway, cache off");
	row("esp, 1 gateway, gateway cache off (every frame reads the hash)", "steer_nocache", "esp",
	    "steer_nocache", "1 gateway, cache off");
	row("esp, 1,000 map entries, cache off", "steer_1k", "esp", "steer_nocache", "1 gateway, cache off");
	row("esp, 65,536 map entries, cache off", "steer_64k", "esp", "steer_nocache", "1 gateway, cache off");
	row("esp, redirect floor", "floor", "esp", "steer_nocache", "1 gateway, cache off");
	row("return esp, steer_return (bpf_fib_lookup + bpf_redirect)", "ret_bpf", "esp_out", "ret_bpf", "steer_return");
	row("return esp, accept_local routing", "ret_route", "esp_out", "ret_bpf", "steer_return");
	row("return esp, no program: sink on ist (the return cells' base)", "ret_none", "esp_out", "ret_bpf",
	    "steer_return");
	row("esp6 routed, no firewall", "routing", "esp6", "fw_10", "firewall, 10 pairs");
	row("esp6 routed, mesh firewall with 10 peer pairs", "fw_10", "esp6", "fw_10", "firewall, 10 pairs");
	row("esp6 routed, mesh firewall with 10,000 peer pairs", "fw_10k", "esp6", "fw_10", "firewall, 10 pairs");
	row("esp6 routed, mesh firewall with 100,000 peer pairs", "fw_100k", "esp6", "fw_10", "firewall, 10 pairs");
	row("esp6 routed, 100,000 pairs in the former interval set", "fw_interval_100k", "esp6", "fw_10",
	    "firewall, 10 pairs");
	double rb = d.ns("ret_none", "esp_out");
	md << "\nReturn path net of its base (`ret_none`, " << fmt("%.0f", rb) << " ns): steer_return "
	   << fmt("%.0f", d.ns("ret_bpf", "esp_out") - rb) << " ns, routing "
	   << fmt("%.0f", d.ns("ret_route", "esp_out") - rb) << " ns, ratio "
	   << fmt("%.2fx", (d.ns("ret_route", "esp_out") - rb) / (d.ns("ret_bpf", "esp_out") - rb)) << ".\n";
	return md.str();
}

std::string prog_run_md(const json &p)
{
	std::ostringstream md;
	md << "\n## BPF_PROG_RUN (kernel timing, ns per run, median of " << p["rounds"].get<int>()
	   << " rounds of " << p["repeat"].get<int>()
	   << "; `no cache`: steer_ingress loaded with its gateway cache off, every frame reading the hash; a cache miss costs that plus the slot check and fill)\n\n"
	      "| frame | empty | steer_ingress | ratio | no cache | ratio |\n|---|---:|---:|---:|---:|---:|\n";
	for (const auto &r : p["rows"]) {
		double e = r["empty_ns"].get<double>(), s = r["steer_ns"].get<double>();
		double u = r.value("uncached_ns", 0.0);
		md << "| " << r["frame"].get<std::string>() << " | " << fmt("%.0f", e) << " | " << fmt("%.0f", s)
		   << " | " << fmt("%.2fx", s / e) << " | " << fmt("%.0f", u) << " | " << fmt("%.2fx", u / e) << " |\n";
	}
	return md.str();
}

// The runs of one cell of nft_bench (round order; null when it failed).
json nft_runs(const json &n, const std::string &way, size_t pairs)
{
	for (const auto &c : n["cells"])
		if (c["way"] == way && c["pairs"] == pairs && !c.value("add_one", false) && c["error"] == "")
			return c["runs_s"];
	return nullptr;
}

double nft_s(const json &n, const std::string &way, size_t pairs, bool add1 = false)
{
	for (const auto &c : n["cells"])
		if (c["way"] == way && c["pairs"] == pairs && c.value("add_one", false) == add1 &&
		    c["error"] == "")
			return c["median_s"].get<double>();
	return NAN;
}

std::string nft_md(const json &n, Targets &t, std::ofstream &dat)
{
	const char *ways[] = {"ours", "nft_sets", "nft_linear", "iptables", "iptables_legacy", "ours_interval"};
	std::ostringstream md;
	md << "\n## Control plane: applying the mesh firewall with N peer pairs (seconds, median)\n\n| pairs |";
	dat << "pairs";
	for (const char *w : ways)
		md << " " << w << " |", dat << " " << w;
	md << "\n|---:|---:|---:|---:|---:|---:|---:|\n";
	dat << "\n";
	for (size_t p : {10, 1000, 10000, 100000}) {
		md << "| " << p << " |";
		dat << p;
		for (const char *w : ways)
			md << " " << fmt("%.3f", nft_s(n, w, p)) << " |", dat << " " << fmt("%.4f", nft_s(n, w, p));
		md << "\n";
		dat << "\n";
	}
	md << "\n`ours_interval` is not one of the issue's ways: our batch with the set design the hash "
	      "sets replaced (one interval set of pairs; README, bench/mesh_ruleset.hpp).\n";
	for (const auto &c : n["cells"])
		if (c["way"] == "ours" && c["pairs"] == 100000 && !c.value("add_one", false) &&
		    c.contains("build_median_s"))
			md << "\nOurs at 100,000 pairs: " << fmt("%.3f", c["build_median_s"].get<double>())
			   << " s of the median is building the batch (user space), the rest sending it and "
			      "the kernel's commit.\n";
	md << "\nAdding one pair to a table holding N (milliseconds, median; ours: the element batch "
	      "`ipsec-steer mesh` sends, nft/set_elements; `-`: not measured):\n\n| pairs |";
	for (const char *w : ways)
		md << " " << w << " |";
	md << "\n|---:|---:|---:|---:|---:|---:|---:|\n";
	for (size_t p : {1000, 100000}) {
		md << "| " << p << " |";
		for (const char *w : ways) {
			double v = nft_s(n, w, p, true);
			md << " " << (std::isnan(v) ? std::string("-") : fmt("%.2f", 1000 * v)) << " |";
		}
		md << "\n";
	}
	for (const auto &c : n["cells"])
		if (c["error"] != "")
			md << "\nFailed: " << c["way"].get<std::string>() << " " << c["pairs"].get<size_t>() << ": "
			   << c["error"].get<std::string>() << "\n";
	json ours = nft_runs(n, "ours", 100000);
	t.add("100,000 pairs: iptables-restore / ours", median_ratio(nft_runs(n, "iptables", 100000), ours),
	      5.0, false);
	t.add("100,000 pairs: nft -f (same sets) / ours", median_ratio(nft_runs(n, "nft_sets", 100000), ours),
	      1.0, false);
	t.add("(former interval-set design, our batch) iptables-restore / it",
	      median_ratio(nft_runs(n, "iptables", 100000), nft_runs(n, "ours_interval", 100000)), 5.0, false,
	      "not a target: the design the hash sets replaced");
	return md.str();
}

std::string lifecycle_md(const json &l, Targets &t)
{
	std::ostringstream md;
	md << "\n## Lifecycle (ms, median)\n\n| what | ms |\n|---|---:|\n";
	for (const auto &[k, v] : l["median_ms"].items())
		md << "| " << k << " | " << fmt("%.0f", v.get<double>()) << " |\n";
	auto runs = [&](const char *k) { return l["runs_ms"].contains(k) ? l["runs_ms"][k] : json(nullptr); };
	t.add("up of 1 gateway / equivalent shell script", median_ratio(runs("up_1"), runs("shell_up_1")), 1.0, true);
	t.add("up of 100 gateways / up of 1", median_ratio(runs("up_100"), runs("up_1")), 20.0, true);
	return md.str();
}

std::string targets_md(const Targets &t)
{
	std::ostringstream md;
	md << "\n## Targets (issue 7), ratios within this run\n\nEach value is the median over rounds of "
	      "the ratio of two figures measured in the same round.\n\n"
	      "| target | value | limit | status |\n|---|---:|---:|---|\n";
	for (const auto &x : t.list)
		md << "| " << x["target"].get<std::string>() << " | "
		   << (x["value"].is_null() ? "-" : fmt("%.4f", x["value"].get<double>())) << " | "
		   << x["limit"].get<std::string>() << " | " << x["status"].get<std::string>()
		   << (x["note"] == "" ? "" : " (" + x["note"].get<std::string>() + ")") << " |\n";
	return md.str();
}

json machine()
{
	utsname u{};
	::uname(&u);
	char when[32];
	std::time_t now = std::time(nullptr);
	std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
	return {{"kernel", u.release}, {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)}, {"generated", when}};
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::fprintf(stderr, "usage: report RAW_DIR OUT_DIR\n");
		return 2;
	}
	std::string raw = argv[1], out = argv[2];
	json all{{"machine", machine()}};
	Targets targets;
	std::string md = "# ipsec-steer benchmark results\n\nGenerated " +
			 all["machine"]["generated"].get<std::string>() + " on Linux " +
			 all["machine"]["kernel"].get<std::string>() + ", " +
			 std::to_string(all["machine"]["cpus"].get<long>()) + " CPUs. Method: bench/README.md.\n\n";
	if (json d = read_json(raw + "/datapath.json"); !d.is_null()) {
		Datapath dp;
		for (const auto &c : d["cells"])
			dp.cells[c["variant"].get<std::string>() + "/" + c["traffic"].get<std::string>()] = c;
		std::ofstream dat(out + "/datapath.dat");
		md += datapath_md(dp, dat);
		std::string note = d.value("generator_note", std::string());
		md += "\nGenerator: " + d.value("generator", std::string("af_packet")) + (note.empty() ? "" : " (" + note + ")") +
		      ". " +
		      std::to_string(d["rounds"].get<int>()) + " rounds of " +
		      std::to_string(d["packets_per_run"].get<uint64_t>()) + " packets per cell, shuffled; " +
		      "delivered == sent in every cell: " +
		      (std::all_of(d["cells"].begin(), d["cells"].end(), [](const json &c) { return c["delivered_ok"].get<bool>(); }) ? "yes" : "**NO**") + ".\n";
		datapath_targets(dp, targets);
		all["datapath"] = d;
	}
	if (json p = read_json(raw + "/prog_run.json"); !p.is_null()) {
		md += prog_run_md(p);
		all["prog_run"] = p;
	}
	if (json n = read_json(raw + "/nft.json"); !n.is_null()) {
		std::ofstream dat(out + "/nft.dat");
		md += nft_md(n, targets, dat);
		all["control_plane"] = n;
	}
	if (json l = read_json(raw + "/lifecycle.json"); !l.is_null()) {
		md += lifecycle_md(l, targets);
		all["lifecycle"] = l;
	}
	md += targets_md(targets);
	all["targets"] = targets.list;
	std::ofstream(out + "/latest.json") << all.dump(1) << "\n";
	std::ofstream(out + "/latest.md") << md;
	std::cout << md;
	return 0;
}
