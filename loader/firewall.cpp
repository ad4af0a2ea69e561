#include "firewall.hpp"

#include "crash_point.hpp"
#include "model.hpp"
#include "transport.hpp"

namespace steer {

namespace {

// The ports the host accepts for IKE: the IKE daemon on the host uses the
// standard ones (gateways' daemons live in their own namespaces).
constexpr uint16_t host_ike_port = 500, host_natt_port = 4500;

} // namespace

Status remove_firewall()
{
	auto ours = firewall_present();
	if (!ours)
		return ours.error();
	if (!*ours)
		return {}; // absent, or somebody else's table of the same name
	auto t = nft::Transport::open();
	if (!t)
		return t.error();
	return t->delete_table(nft::table_name);
}

Status apply_host_firewall(const config::Config &cfg)
{
	if (!cfg.firewall)
		return remove_firewall();
	crash_point("host_nft_batch");
	return nft::replace_table(nft::plan_host_firewall(*cfg.firewall, host_ike_port, host_natt_port));
}

Status apply_gateway_firewall(const config::Gateway &gw)
{
	if (!gw.firewall)
		return remove_firewall();
	crash_point("gateway_nft_batch");
	return nft::replace_table(
		nft::plan_gateway_firewall(*gw.firewall, gw.ike_port, gw.natt_port, gw.steer_flags));
}

Result<bool> firewall_present()
{
	auto t = nft::Transport::open();
	if (!t)
		return t.error();
	auto comment = t->table_comment(nft::table_name);
	if (!comment)
		return comment.error();
	return *comment && **comment == nft::table_comment;
}

} // namespace steer
