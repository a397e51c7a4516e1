#!/usr/bin/env bash
# Inside the lab VM (tests/lab/run usb): the phone emulator serves a phone's USB device over
# USB/IP on loopback; `usbip attach` hands it to the kernel's vhci-hcd, so the kernel's USB
# host stack enumerates it as if plugged in, and handsync reaches it through usbfs (nusb) as
# it would a phone on a cable.
# Usage: usb.sh HANDSYNC_BINARY [tests|bench]
set -uo pipefail
H=$1
what=${2:-tests}
S=/run/lab
export HOME=$S TMPDIR=$S XDG_CONFIG_HOME=$S/config XDG_DATA_HOME=$S/data NO_COLOR=1
PC_DB=$S/pc.db
started=$(date +%s)
. "$(dirname "$0")/lib.sh"


current="starting the USB host stack"
say "$current"
ip link set lo up
modprobe vhci-hcd && modprobe cdc_acm || fail "modprobe vhci-hcd cdc_acm"

# plug_in MODEL [EMULATE ARGS...]: starts the emulated phone and attaches it.
plug_in() {
    local model=$1; shift
    current="plugging in the $model"
    say "$current"
    "$H" emulate --profile "$model" --usbip 127.0.0.1:3240 --timeout 60 "$@" >$S/phone.log 2>&1 &
    phone_pid=$!
    wait_for "the $model's USB/IP server" 20 $S/phone.log "USB/IP on 127.0.0.1:3240"
    timeout 20 usbip attach -r 127.0.0.1 -b 1-1 >$S/step.log 2>&1 || fail "usbip attach"
    for _ in $(seq 1 40); do
        [ -n "$(usbip port 2>/dev/null | grep -o 'Port in Use')" ] && [ -n "$(phone_node)" ] && return 0
        sleep 0.5
    done
    fail "the kernel did not enumerate the $model"
}
phone_node() { # the /dev/bus/usb node of the attached phone
    for d in /sys/bus/usb/devices/*; do
        [ "$(cat $d/idVendor 2>/dev/null)" = "${vid:-0421}" ] || continue
        printf '/dev/bus/usb/%03d/%03d\n' "$(cat $d/busnum)" "$(cat $d/devnum)"
        return
    done
}
# unplugged: waits until the phone's device is gone (the emulator closed its link).
unplugged() {
    for _ in $(seq 1 40); do
        [ -z "$(phone_node)" ] && { wait $phone_pid 2>/dev/null; return 0; }
        sleep 0.5
    done
    fail "the phone is still attached after its session"
}

if [ "$what" = bench ]; then
    # ---- 1,000 contacts, the PC starting a slow sync: over USB (the kernel's stack, USB/IP
    # on loopback), then over OBEX/TCP on loopback, same binaries, same VM, fresh stores.
    for how in usb tcp; do
        rm -f $S/bench-$how.db*
        if [ $how = usb ]; then
            plug_in nokia-e51 --generate 1000 --seed 7
            target=(--usb)
        else
            "$H" emulate --profile nokia-e51 --generate 1000 --seed 7 --listen-obex-tcp 127.0.0.1:6600 \
                --timeout 60 >$S/phone.log 2>&1 &
            phone_pid=$!
            wait_for "the phone listens on TCP" 20 $S/phone.log "listening for OBEX"
            target=(--obex-tcp 127.0.0.1:6600)
        fi
        current="1,000 contacts over $how"
        say "$current"
        start_ns=$(date +%s%N)
        TIMEFORMAT="%U %S"
        { time "$H" --db $S/bench-$how.db sync "${target[@]}" --datastore contacts >$S/step.log 2>&1; } 2>$S/time-$how ||
            fail "the sync over $how failed"
        elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
        read -r user sys < $S/time-$how
        [ "$(count_items contacts $S/bench-$how.db)" = 1000 ] ||
            fail "not all 1,000 contacts arrived over $how"
        say "bench $how: 1000 contacts in $elapsed_ms ms, handsync CPU user $user s + system $sys s"
        wait $phone_pid 2>/dev/null
        [ $how = usb ] && unplugged
    done
    exit 0
fi

# ---- a Nokia 6230i: enumeration, listing, the PC starts over CDC OBEX
vid=0421
plug_in nokia-6230i --data $S/nokia --generate 25 --seed 3
step "the kernel enumerated it (lsusb -v shows its OBEX functions)" 20 lsusb -v -d 0421:0428
grep -q "SYNCML-SYNC" $S/step.log || fail "lsusb -v does not show the SYNCML-SYNC function"
grep -q "CDC OBEX" $S/step.log || grep -q "bInterfaceSubClass *11" $S/step.log ||
    fail "lsusb -v shows no CDC OBEX interface"
step "handsync devices --usb lists it" 20 "$H" devices --usb
grep -q 'OBEX "SYNCML-SYNC": interfaces 5/6, tried first' $S/step.log || fail "no SyncML function listed"
grep -q 'modem "Nokia 6230i USB Modem": interface 1, /dev/ttyACM' $S/step.log || fail "no modem tty listed"
sed 's/^/    /' $S/step.log
step "the PC starts a slow sync over USB" 120 "$H" --db "$PC_DB" sync --usb 0421:0428 --datastore contacts
grep -q 'SyncML on the phone.s "SYNCML-SYNC" function' $S/step.log || fail "not the SyncML function"
[ "$(count_items contacts)" = 25 ] || fail "the PC holds $(count_items contacts) contacts, not 25"
unplugged

# ---- unplugged in the middle of a package (the phone's message 1 is 1,202 bytes, its message 3
# with the new contact 426: it stops answering there, then `usbip detach` pulls it out under
# the running sync), then the next sync converges
cat > $S/nokia-added.vcf <<'VCARD'
BEGIN:VCARD
VERSION:2.1
N:Plugged;Paula
TEL;CELL:+447700900123
END:VCARD
VCARD
plug_in nokia-6230i --data $S/nokia --add $S/nokia-added.vcf --freeze-after 1400
current="the phone is unplugged mid-package (usbip detach)"
say "$current"
"$H" --db "$PC_DB" sync --usb --datastore contacts --timeout 60 >$S/step.log 2>&1 &
sync_pid=$!
wait_for "the phone stops mid-package" 60 $S/phone.log "frozen after"
vport=$(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\): <Port in Use>.*/\1/p' | head -1)
usbip detach -p "$vport" >$S/detach.log 2>&1 || fail "usbip detach -p $vport: $(cat $S/detach.log)"
wait $sync_pid && fail "the sync succeeded though the phone was unplugged"
grep -q -i "unplugged" $S/step.log || fail "the failure does not say the phone was unplugged"
say "reported: $(grep -i unplugged $S/step.log | tail -1)"
unplugged
step "the cut session is recorded as cut" 20 "$H" --db "$PC_DB" history
grep -q -i "cut" $S/step.log || fail "no cut session in the history"
plug_in nokia-6230i --data $S/nokia
step "the next sync converges" 120 "$H" --db "$PC_DB" sync --usb 1-1 --datastore contacts
[ "$(count_items contacts)" = 26 ] || fail "the PC holds $(count_items contacts) contacts, not 26"
unplugged

# ---- an E51: OBEX functions without names; the SyncML one is found by trying each
plug_in nokia-e51 --generate 5 --seed 4
step "the PC finds the unnamed SyncML function and syncs" 120 "$H" --db $S/e51.db sync --usb --datastore contacts
grep -q 'SyncML on the phone.s "interface 5" function' $S/step.log || fail "not found by trying"
unplugged

# ---- a Sony Ericsson K750: a modem only (CDC ACM), switched to OBEX with AT*EOBEX on the
# ttyACM the kernel's cdc_acm made of it
vid=0fce
plug_in sonyericsson-k750i --generate 7 --seed 5
step "the PC syncs the Sony Ericsson over its USB modem" 120 "$H" --db $S/se.db sync --usb 0fce:d016 --datastore contacts
grep -q "on its modem /dev/ttyACM" $S/step.log || fail "not routed to the serial path"
grep -q "switched to OBEX with AT\*EOBEX" $S/step.log || fail "not switched with AT*EOBEX"
[ "$(count_items contacts $S/se.db)" = 7 ] ||
    fail "the PC does not hold the K750's 7 contacts"
unplugged
vid=0421

# ---- serve: a phone plugged in while it runs starts its own sync (an E51: serve opens every
# OBEX function, the phone syncs on its own)
"$H" --db $S/serve.db serve --no-http --no-bluetooth >$S/serve.log 2>&1 &
serve_pid=$!
wait_for "serve watches USB" 30 $S/serve.log "USB: watching for phones"
plug_in nokia-e51 --generate 9 --seed 6 --usbip-start
say "serve takes the plugged phone"
wait_for "serve takes the plugged phone" 30 $S/serve.log "plugged in: waiting for it to sync"
say "the phone starts a sync with serve over USB"
wait_for "the phone starts a sync with serve over USB" 120 $S/phone.log "completed"
[ "$(count_items contacts $S/serve.db)" = 9 ] ||
    fail "serve does not hold the phone's 9 contacts"
unplugged
wait_for "serve sees the phone go" 30 $S/serve.log "unplugged"
# While serve holds a phone, a `sync --usb` is told who has it.
plug_in nokia-6230i --data $S/nokia
wait_for "serve takes the plugged phone" 30 $S/serve.log "plugged in: waiting for it to sync" 2
expect_failure "a sync while serve holds the phone is told who has it" 60 \
    "$H" --db "$PC_DB" sync --usb --datastore contacts
grep -q "is in use by handsync (pid $serve_pid)" $S/step.log || fail "the holder is not named"
say "reported: $(tail -1 $S/step.log)"
kill $serve_pid; wait $serve_pid 2>/dev/null
# serve started with the phone already plugged in, calling it as PC Suite did on plug-in.
"$H" --db $S/plug.db serve --no-http --no-bluetooth --usb-sync-on-plug >$S/serve.log 2>&1 &
serve_pid=$!
say "serve with sync-on-plug calls the phone plugged in before it started"
wait_for "serve calls the plugged phone" 120 $S/serve.log 'session completed on "SYNCML-SYNC"'
[ "$(count_items contacts $S/plug.db)" = 26 ] ||
    fail "serve does not hold the phone's 26 contacts"
unplugged
kill $serve_pid; wait $serve_pid 2>/dev/null

# ---- permission: a user the node is not open to is told what to install; the udev rule
# matches the phone (udevadm test: no udevd, systemd or logind runs in this VM) and gives the
# seat's user access (uaccess), after which the same user is served
plug_in nokia-6230i --data $S/nokia
mkdir -p $S/user && chown 65534:65534 $S/user
as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=$S/user
    "$H" --db $S/user/pc.db sync --usb --datastore contacts)
expect_failure "a user without the udev rule is refused" 60 "${as_user[@]}"
grep -q "no permission to open /dev/bus/usb/.*udev" $S/step.log || fail "the refusal does not name the rule"
say "reported: $(tail -1 $S/step.log)"
port=$(basename "$(dirname "$(grep -l "^${vid}$" /sys/bus/usb/devices/*/idVendor | head -1)")")
mount -t tmpfs tmpfs /etc/udev/rules.d && cp "$(dirname "$0")/../../udev/"*.rules /etc/udev/rules.d/ ||
    fail "installing the rules in the VM"
step "udevadm test: the rule matches the phone at $port" 60 udevadm test --action=add /sys/bus/usb/devices/$port
grep -q "SYSTEMD_USER_WANTS=handsync-usb@$port.service" $S/step.log || fail "no handsync-usb@$port.service"
grep -q "ID_MM_DEVICE_IGNORE=1" $S/step.log || fail "ModemManager is not kept off"
grep -q "TAGS=.*:uaccess:" $S/step.log || fail "no uaccess tag"
say "udev: TAGS $(grep -o 'TAGS=.*' $S/step.log | head -1), $(grep -o 'SYSTEMD_USER_WANTS=.*' $S/step.log | head -1)"
# What logind does for a device tagged uaccess: the seat's user gets access to the node.
chown 65534 "$(phone_node)"
step "the same user, given the seat's access, is served" 120 "${as_user[@]}"
unplugged

say "all USB lab tests passed"
