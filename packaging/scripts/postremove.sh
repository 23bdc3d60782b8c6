#!/bin/sh
# A purge (deb) also deletes the state: checkpoints and the exporter's queue. A plain removal
# keeps them, and the configuration, for a reinstall. The system user stays, as Debian advises:
# files it owned may remain.
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
fi
if [ "$1" = purge ]; then
    rm -rf /var/lib/otelcol-securityalerts
fi
