// Test hook for crash safety: the process kills itself with SIGKILL at a
// named step of `up` or `down` when IPSEC_STEER_CRASH_AT names that step,
// so a test can leave the kernel exactly as a crash there would and check
// that the next run converges. Without the variable it costs one compare.
#pragma once

namespace steer {

// Environment variable naming the step to die at (docs/design.md §6).
inline constexpr const char *crash_env = "IPSEC_STEER_CRASH_AT";

// SIGKILL on this process when crash_env equals step; otherwise nothing.
void crash_point(const char *step);

} // namespace steer
