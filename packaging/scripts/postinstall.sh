#!/bin/sh
# The state directory belongs to the service's user; the environment file holds secrets and is
# readable by the service's group only. The service is not started: it needs the credentials of
# the environment file first (docs/deploying.md).
set -e
install -d -o otelcol-securityalerts -g otelcol-securityalerts -m 0750 /var/lib/otelcol-securityalerts
chgrp otelcol-securityalerts /etc/otelcol-securityalerts/otelcol-securityalerts.conf
chmod 0640 /etc/otelcol-securityalerts/otelcol-securityalerts.conf
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
    # On an upgrade, a running service picks the new binary up.
    systemctl try-restart otelcol-securityalerts.service >/dev/null || true
fi
echo "otelcol-securityalerts: set the credentials in /etc/otelcol-securityalerts/otelcol-securityalerts.conf,"
echo "  then: systemctl enable --now otelcol-securityalerts"
