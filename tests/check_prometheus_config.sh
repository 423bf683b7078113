#!/bin/sh
# promtool check config on the shipped deploy/prometheus, with stand-ins for
# the key files compose provides (a token and a CA, made here).
set -eu
promtool=$1
source_dir=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$source_dir"/deploy/prometheus/prometheus.yml "$source_dir"/deploy/prometheus/alerts.yml "$dir"
mkdir "$dir/keys"
echo placeholder-token > "$dir/keys/prometheus.token"
/usr/bin/openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -days 1 -subj /CN=avesd -keyout "$dir/keys/server.key" -out "$dir/keys/server.pem" 2>/dev/null
"$promtool" check config "$dir/prometheus.yml"
