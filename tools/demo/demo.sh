#!/bin/sh
# `make demo`: two IPsec sites joined by strongSwan through ipsec-steer
# (tools/ike/ike_two_site.cpp): gateways made by `ipsec-steer up`, charon
# started with `ipsec-steer exec`, a ping from LAN A to LAN B across the
# tunnel, `status` and `stats` of both sites, everything removed with
# `ipsec-steer down`. Exits non-zero when the ping or the teardown fails.
# Run as root. The classifier alone, frame by frame: BUILD/tools/demo/classifier-demo
set -eu
build=${1:-build}
exec "$build/tools/ike/ike_two_site"
