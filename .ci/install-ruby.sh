#!/bin/sh
# Installs the Debian packages the reference Rails app ("automation") is built from.
#
# Why Debian packages and not rubygems: the reference stack must build on air-gapped runners,
# and bookworm ships a coherent Rails 6.1 + pg + data_migrate set that `bundle install --local`
# resolves without network access to rubygems.org. Idempotent: it does nothing when every
# package is already installed, so CI can call it on every run.
set -eu

# python3-psycopg2 and python3-pymongo: ultron runs on Debian's python3 in its image, and the
# tests run it the same way.
PACKAGES="ruby-rails ruby-pg ruby-data-migrate ruby-webrick bundler postgresql-15 openssl python3 python3-psycopg2 python3-pymongo"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install-ruby: all packages present ($PACKAGES)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "install-ruby: installing$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
ruby --version
