#!/bin/sh
# Stops the service when the package is removed, not when it is upgraded (deb: "remove";
# rpm: no version left, "0").
set -e
case "$1" in
remove | 0)
    if [ -d /run/systemd/system ]; then
        systemctl disable --now otelcol-securityalerts.service >/dev/null || true
    fi
    ;;
esac
