#!/bin/sh
# The .deb's whole life, dpkg -i, run, dpkg -r, dpkg -P, in a throwaway copy of this machine: an
# overlay of / whose writes land in a tmpfs of this mount namespace (run it under
# `unshare --mount --propagation private`), so nothing is installed here. TestDebInstallCycle
# drives it: it points the environment file at the simulator and the OTLP sink (SIM_URL,
# SINK_URL, HEALTH_ADDR), waits for "collector running", checks that records flow, and writes a
# line to stdin for the rest. Exit 77: no throwaway root can be made here.
set -eu
deb=$1
scratch=$2
name=otelcol-securityalerts

mount -t tmpfs tmpfs "$scratch"
mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
if ! mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/root"; then
    echo "cannot mount an overlay of / here" >&2
    exit 77
fi
root=$scratch/root
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
# Empty /run: no systemd runs in the copy, so the maintainer scripts leave systemctl alone.
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
cp "$deb" "$root/tmp/$name.deb"

fail() {
    echo "FAILED: $*" >&2
    exit 1
}
expect_owner_mode() { # path owner:group mode
    got=$(chroot "$root" stat -c '%U:%G %a' "$1")
    [ "$got" = "$2 $3" ] || fail "$1 is $got, want $2 $3"
}

echo "STEP: dpkg -i"
chroot "$root" dpkg -i "/tmp/$name.deb"
chroot "$root" getent passwd "$name" >/dev/null || fail "no user $name"
[ "$(chroot "$root" dpkg-query -W -f '${Status}' "$name")" = "install ok installed" ] || fail "not installed"
expect_owner_mode /var/lib/$name "$name:$name" 750
expect_owner_mode /etc/$name/$name.conf "root:$name" 640
expect_owner_mode /usr/bin/$name root:root 755
[ -f "$root/usr/lib/systemd/system/$name.service" ] || fail "no systemd unit"

echo "STEP: configure the environment file, run as the service's user"
env_file=$root/etc/$name/$name.conf
sed -i -e "s|^USM_ANYWHERE_ENDPOINT=.*|USM_ANYWHERE_ENDPOINT=$SIM_URL|" \
    -e "s|^USM_ANYWHERE_CLIENT_ID=.*|USM_ANYWHERE_CLIENT_ID=sim-client|" \
    -e "s|^USM_ANYWHERE_CLIENT_SECRET=.*|USM_ANYWHERE_CLIENT_SECRET=sim-secret|" \
    -e "s|^OTLP_ENDPOINT=.*|OTLP_ENDPOINT=$SINK_URL|" \
    -e "s|^# HEALTH_ENDPOINT=.*|HEALTH_ENDPOINT=$HEALTH_ADDR|" "$env_file"
# As the unit runs it: its user, its EnvironmentFile, its ExecStart.
exec_start=$(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/$name.service")
(
    set -a
    . "$env_file"
    set +a
    # shellcheck disable=SC2086 # ExecStart is a command line
    exec chroot --userspec="$name:$name" "$root" $exec_start
) &
collector=$!
echo "STEP: collector running"
read -r _
kill -TERM "$collector"
wait "$collector" || fail "the collector did not stop cleanly"
[ -n "$(ls -A "$root/var/lib/$name")" ] || fail "file_storage wrote nothing in /var/lib/$name"

echo "STEP: dpkg -r"
chroot "$root" dpkg -r "$name"
[ ! -e "$root/usr/bin/$name" ] || fail "binary left after dpkg -r"
[ ! -e "$root/usr/lib/systemd/system/$name.service" ] || fail "unit left after dpkg -r"
[ -f "$root/etc/$name/config.yaml" ] || fail "dpkg -r removed the configuration"
[ -d "$root/var/lib/$name" ] || fail "dpkg -r removed the state"

echo "STEP: dpkg -P"
chroot "$root" dpkg -P "$name"
[ ! -e "$root/etc/$name" ] || fail "configuration left after dpkg -P"
[ ! -e "$root/var/lib/$name" ] || fail "state left after dpkg -P"
echo "CYCLE-OK"
