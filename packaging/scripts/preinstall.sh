#!/bin/sh
# Creates the service's system user before the files are unpacked (deb and rpm alike).
set -e
if ! getent passwd otelcol-securityalerts >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir /var/lib/otelcol-securityalerts \
        --shell /usr/sbin/nologin --comment "otelcol-securityalerts service" otelcol-securityalerts
fi
