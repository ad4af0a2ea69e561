// The nft table `inet ipsec_steer`: [firewall] in the namespace the tool
// runs in, [gateway.firewall] inside each gateway namespace. Replaced in
// one atomic batch; removed only when its comment says it is ours.
#pragma once

#include "config.hpp"
#include "result.hpp"

namespace steer {

// In the calling thread's namespace: the host table when the config has
// [firewall], else our table (if any) removed.
Status apply_host_firewall(const config::Config &cfg);

// In the calling thread's namespace (the gateway's): its table, or none.
Status apply_gateway_firewall(const config::Gateway &gw);

// Our table removed from the calling thread's namespace (absent: fine).
Status remove_firewall();

// Whether our table is present in the calling thread's namespace.
Result<bool> firewall_present();

} // namespace steer
