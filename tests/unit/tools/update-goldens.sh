#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerate the napdump golden outputs in tests/vectors/napdump/ after a reviewed change of the
# output format: X.txt and X.json for every X.hex, X.err for the negative vectors (neg-*).
# Usage: tests/unit/tools/update-goldens.sh BUILDDIR
set -eu
build=${1:?usage: update-goldens.sh BUILDDIR}
napdump=$build/tools/napdump/napdump
dir=$(dirname "$0")/../../vectors/napdump
for f in "$dir"/*.hex; do
	base=${f%.hex}
	name=$(basename "$base")
	args=
	[ -f "$base.args" ] && args=$(cat "$base.args")
	case $name in
	neg-*) kind=${name#neg-}; kind=${kind%%-*}
		# shellcheck disable=SC2086
		"$napdump" "$kind" $args "$f" >/dev/null 2>"$base.err" || true ;;
	*) kind=${name%%-*}
		# shellcheck disable=SC2086
		"$napdump" "$kind" $args "$f" >"$base.txt"
		# shellcheck disable=SC2086
		"$napdump" "$kind" $args --json "$f" >"$base.json" ;;
	esac
done
