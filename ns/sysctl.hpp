// sysctls through /proc/sys. /proc/sys/net resolves to the network
// namespace of the thread that opens the file, so these act in the calling
// thread's namespace like everything else in ns/.
#pragma once

#include <string>

#include "result.hpp"

namespace steer::ns {

// "net.ipv4.conf.eth0.rp_filter" or "net/ipv4/conf/eth0/rp_filter" ->
// "/proc/sys/net/ipv4/conf/eth0/rp_filter". In the dotted form a '/'
// stands for a '.' inside a component (an interface "eth0.100" is written
// "eth0/100"), as sysctl(8) has it. EINVAL for empty or ".." components.
Result<std::string> sysctl_path(const std::string &key);

// The value without its trailing newline.
Result<std::string> get_sysctl(const std::string &key);

// Writes value unless the current value already equals it (compared with
// runs of whitespace folded, as multi-value sysctls read back tab-separated);
// write-only keys are always written.
Status set_sysctl(const std::string &key, const std::string &value);

} // namespace steer::ns
