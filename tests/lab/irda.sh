#!/usr/bin/env bash
# Inside the lab VM (tests/lab/run irda-usb): the phone emulator serves an emulated IrDA-USB
# dongle (an ACTiSYS ACT-IR2000U, 09c4:0011) over USB/IP on loopback, with a phone in front
# of it across the simulated air; `usbip attach` hands the dongle to the kernel's vhci-hcd,
# so the kernel's USB stack enumerates it as if plugged in, and handsync drives it through
# usbfs (nusb) with its own IrDA stack, as it would a real dongle.
# Usage: irda.sh HANDSYNC_BINARY
set -uo pipefail
H=$1
S=/run/lab
export HOME=$S TMPDIR=$S XDG_CONFIG_HOME=$S/config XDG_DATA_HOME=$S/data NO_COLOR=1
PC_DB=$S/pc.db
started=$(date +%s)
. "$(dirname "$0")/lib.sh"

current="starting the USB host stack"
say "$current"
ip link set lo up
modprobe vhci-hcd || fail "modprobe vhci-hcd"

dongle_node() { # the /dev/bus/usb node of the attached dongle
    for d in /sys/bus/usb/devices/*; do
        [ "$(cat $d/idVendor 2>/dev/null):$(cat $d/idProduct 2>/dev/null)" = "09c4:0011" ] || continue
        printf '/dev/bus/usb/%03d/%03d\n' "$(cat $d/busnum)" "$(cat $d/devnum)"
        return
    done
}
# plug_in [EMULATE ARGS...]: starts the phone in front of the emulated dongle and attaches it.
plug_in() {
    current="plugging in the IrDA dongle"
    say "$current"
    "$H" emulate --profile nokia-6230i --irda-usbip 127.0.0.1:3240 --timeout 90 "$@" >$S/phone.log 2>&1 &
    phone_pid=$!
    wait_for "the dongle's USB/IP server" 20 $S/phone.log "IrDA dongle on USB/IP 127.0.0.1:3240, bus id 1-1"
    timeout 20 usbip attach -r 127.0.0.1 -b 1-1 >$S/step.log 2>&1 || fail "usbip attach"
    for _ in $(seq 1 40); do
        [ -n "$(dongle_node)" ] && return 0
        sleep 0.5
    done
    fail "the kernel did not enumerate the dongle"
}
# unplugged: the emulator ends its session and closes its link (the dongle is unplugged);
# whatever is still attached is detached.
unplugged() {
    for _ in $(seq 1 40); do
        [ -z "$(dongle_node)" ] && break
        sleep 0.5
    done
    for vport in $(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\): <Port in Use>.*/\1/p'); do
        usbip detach -p "$vport" >/dev/null 2>&1
    done
    [ -z "$(dongle_node)" ] || fail "the dongle is still attached"
    wait $phone_pid 2>/dev/null
    return 0
}

# ---- the PC starts: enumeration, discovery, a slow sync
plug_in --data $S/nokia --generate 25 --seed 3
step "the kernel enumerated the dongle (lsusb shows 09c4:0011)" 20 lsusb -d 09c4:0011
say "    $(cat $S/step.log)"
step "lsusb -v shows its IrDA-USB interface (fe/02)" 20 lsusb -v -d 09c4:0011
grep -q "bInterfaceClass *254" $S/step.log && grep -q "bInterfaceSubClass *2" $S/step.log ||
    fail "lsusb -v shows no interface of class fe, subclass 02"
step "handsync devices --irda usb lists the phone" 60 "$H" devices --irda usb
grep -q '"Nokia 6230i"' $S/step.log || fail "the phone is not listed"
sed 's/^/    /' $S/step.log
step "the PC starts a slow sync over the USB dongle" 180 "$H" --db "$PC_DB" sync --irda usb --datastore contacts
[ "$(count_items contacts)" = 25 ] || fail "the PC holds $(count_items contacts) contacts, not 25"
wait_for "the phone's session completed" 30 $S/phone.log "completed"
unplugged

# ---- the phone starts: serve is discoverable as "PC Suite" on the dongle
HANDSYNC_LOG=handsync=debug plug_in --generate 9 --seed 6 --irda-start
HANDSYNC_LOG=handsync=debug "$H" --db $S/serve.db serve --irda usb --no-bluetooth --no-usb --no-http >$S/serve.log 2>&1 &
serve_pid=$!
say "the phone discovers PC Suite and syncs with serve"
wait_for "the phone starts a sync with serve over infrared" 180 $S/phone.log "completed"
[ "$(count_items contacts $S/serve.db)" = 9 ] || fail "serve does not hold the phone's 9 contacts"
unplugged
kill $serve_pid; wait $serve_pid 2>/dev/null

# ---- a lossy air: 2% of frames lost, the PC starts
plug_in --generate 25 --seed 8 --air-loss 0.02 --air-seed 5
step "a sync over an air that loses 2% of frames" 240 "$H" --db $S/lossy.db sync --irda usb --datastore contacts
[ "$(count_items contacts $S/lossy.db)" = 25 ] || fail "the PC holds $(count_items contacts $S/lossy.db) contacts, not 25"
unplugged

say "all IrDA-USB lab tests passed"
