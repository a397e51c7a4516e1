#!/usr/bin/env bash
# Inside the lab VM (tests/lab/kernel-irda): the kernel's IrDA stack (irtty-sir on a tty) as
# the peer of handsync's, both ways.
#   A: the kernel is the phone: `irpeer serve OBEX` relays its OBEX service to the emulated
#      phone's OBEX server on TCP; `handsync sync --irda` discovers it, asks its IAS, connects.
#   B: the kernel is the PC: the emulated phone's IrDA face (`emulate --irda-pty`) on its pty,
#      `irpeer connect OBEX` discovers and opens it; handsync calls through it over TCP.
# Usage: kernel-irda.sh HANDSYNC_BINARY MODULES_DIR IRPEER
set -uo pipefail
H=$1 K=$2 P=$3
S=/run/lab
export HOME=$S TMPDIR=$S XDG_CONFIG_HOME=$S/config XDG_DATA_HOME=$S/data NO_COLOR=1
PC_DB=$S/pc.db
started=$(date +%s)
. "$(dirname "$0")/lib.sh"

current="loading the kernel's IrDA stack"
say "$current"
ip link set lo up
mkdir -p /dev/pts
mountpoint -q /dev/pts || mount -t devpts -o ptmxmode=666 devpts /dev/pts || fail "devpts"
insmod "$K/net/irda.ko" && insmod "$K/drivers/sir-dev.ko" && insmod "$K/drivers/irtty-sir.ko" \
    || fail "insmod"
irda_up() { sleep 1; for n in $(ls /sys/class/net | grep irda); do ip link set "$n" up; done; }

# Case A needs two ttys joined: two ptys and a relay between their masters.
cat >$S/relay.py <<'PY'
import os, pty, select, sys
a_master, a_slave = pty.openpty()
b_master, b_slave = pty.openpty()
for fd in (a_slave, b_slave):
    import tty; tty.setraw(fd)
print(os.ttyname(a_slave), os.ttyname(b_slave), flush=True)
while True:
    ready, _, _ = select.select([a_master, b_master], [], [])
    for fd in ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            continue
        os.write(b_master if fd == a_master else a_master, data)
PY
python3 $S/relay.py >$S/relay.log 2>&1 &
wait_for "the tty relay" 20 $S/relay.log "/dev/pts/"
read -r kernel_tty handsync_tty <$S/relay.log

current="A: the kernel as the phone"
say "$current"
ldattach -s 9600 -8n1 irda "$kernel_tty" || fail "ldattach irda $kernel_tty"
sysctl -qw net.irda.devname="Nokia 6230i" || fail "devname"
irda_up
"$H" emulate --profile nokia-6230i --generate 5 --listen-obex-tcp 127.0.0.1:6501 --timeout 120 \
    >$S/phone.log 2>&1 &
phone_pid=$!
wait_for "the phone's OBEX server" 30 $S/phone.log "6501"
"$P" serve OBEX 127.0.0.1:6501 >$S/irpeer.log 2>&1 &
peer_pid=$!
LAB_EXTRA_LOGS="$S/irpeer.log"
sleep 1
step "A: handsync sync --irda with the kernel's stack as the phone" 240 \
    "$H" --db $PC_DB sync --irda "$handsync_tty" --datastore contacts
grep -q "synced over infrared with .*Nokia 6230i" $S/step.log || fail "$(cat $S/step.log)"
[ "$(count_items contacts)" = 5 ] || fail "$(count_items contacts) contacts, not 5"
say "A: synced: $(grep -o 'at [0-9]* b/s' $S/step.log)"
kill $phone_pid $peer_pid 2>/dev/null
pkill ldattach; sleep 2

current="B: the kernel as the PC"
say "$current"
sysctl -qw net.irda.devname="Linux PC" || fail "devname"
"$H" emulate --irda-pty --profile nokia-6230i --generate 5 --timeout 120 >$S/phone.log 2>&1 &
wait_for "the phone's infrared port" 30 $S/phone.log "infrared on /dev/pts/"
phone_tty=$(grep -o '/dev/pts/[0-9]*' $S/phone.log | head -1)
ldattach -s 9600 -8n1 irda "$phone_tty" || fail "ldattach irda $phone_tty"
irda_up
# The kernel's discovery log still holds case A's "PC Suite" for a while: ask until the phone
# shows up.
for _ in $(seq 1 12); do
    step "B: the kernel discovers the phone" 60 "$P" list
    grep -q "Nokia 6230i" $S/step.log && break
    sleep 3
done
grep -q "Nokia 6230i" $S/step.log || fail "not discovered: $(cat $S/step.log)"
"$P" connect OBEX listen:127.0.0.1:6502 >$S/irpeer.log 2>&1 &
wait_for "the kernel's OBEX connection" 60 $S/irpeer.log "waiting on tcp"
step "B: handsync calls the phone through the kernel's IrDA stack" 240 \
    "$H" --db $S/b.db sync --obex-tcp 127.0.0.1:6502 --datastore contacts
[ "$(count_items contacts $S/b.db)" = 5 ] || fail "$(count_items contacts $S/b.db) contacts, not 5"
say "all kernel IrDA cases passed in $(( $(date +%s) - started )) s"
