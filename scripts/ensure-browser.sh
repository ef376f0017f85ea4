#!/usr/bin/env bash
# Make sure headless Chromium and its WebDriver are installed: the browser
# tests of the /docs page drive /usr/bin/chromium through /usr/bin/chromedriver.
# Installs Debian's packages when missing (needs root and apt); otherwise says
# what to install.
set -u

have() { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }

have && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "error: Chromium is missing; install the Debian packages 'chromium' and" \
    "'chromium-driver' (apt-get install chromium chromium-driver)" >&2
  exit 1
fi
echo "chromium is not installed: installing chromium and chromium-driver" >&2
export DEBIAN_FRONTEND=noninteractive
# A lock held by another apt run is waited for rather than failed on.
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
if ! apt_get install -y -qq chromium chromium-driver >/dev/null 2>&1; then
  apt_get update -qq && apt_get install -y -qq chromium chromium-driver >/dev/null || {
    echo "error: could not install chromium and chromium-driver with apt-get" >&2
    exit 1
  }
fi
have || { echo "error: chromium installed but /usr/bin/chromedriver is missing" >&2; exit 1; }
echo "chromium installed" >&2
