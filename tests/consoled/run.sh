#!/bin/bash
# console-fe in a directory of its own (removed afterwards). Skips (77) when not root: the
# daemon's jail needs namespaces and id maps as the controller would give it.
set -u
consoled=$1 fe=$2
[ "$(id -u)" = 0 ] || { echo "skip: needs root for the jail"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
"$fe" "$consoled" "$dir"
