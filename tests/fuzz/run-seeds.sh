#!/bin/sh
# Runs a libFuzzer binary over its seed corpus plus a bounded number of mutations. New inputs go
# to a scratch directory (libFuzzer writes into its first corpus argument), never the source tree.
set -eu
bin=$1; seeds=$2; shift 2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$bin" "$@" "$scratch" "$seeds"
