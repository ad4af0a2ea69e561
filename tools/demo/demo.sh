#!/bin/sh
# `make demo`: the classifier lab (see classifier_demo.cpp). Run as root.
set -eu
build=${1:-build}
exec "$build/tools/demo/classifier-demo"
