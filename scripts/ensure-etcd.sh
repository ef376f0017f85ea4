#!/usr/bin/env bash
# Make sure etcd 3.4 (Debian's etcd-server, and etcd-client for etcdctl) is
# installed: the registry_etcd plugin's tests start private etcd servers of
# their own on free loopback ports. Installs the packages when missing (needs
# root and apt); otherwise says what to install. The packages' own service is
# not started by this.
set -u

have() { command -v etcd >/dev/null && command -v etcdctl >/dev/null; }

have && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "error: etcd is missing; install the Debian packages 'etcd-server' and" \
    "'etcd-client' (apt-get install etcd-server etcd-client)" >&2
  exit 1
fi
echo "etcd is not installed: installing etcd-server and etcd-client" >&2
export DEBIAN_FRONTEND=noninteractive
# A lock held by another apt run is waited for rather than failed on.
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
if ! apt_get install -y -qq etcd-server etcd-client >/dev/null 2>&1; then
  apt_get update -qq && apt_get install -y -qq etcd-server etcd-client >/dev/null || {
    echo "error: could not install etcd-server and etcd-client with apt-get" >&2
    exit 1
  }
fi
have || { echo "error: etcd packages installed but etcd or etcdctl not on PATH" >&2; exit 1; }
echo "etcd installed" >&2
