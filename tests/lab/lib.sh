# Shared by the lab's scenarios (sourced inside the VM): a step log with timings, steps with
# timeouts that name what failed and show the logs that explain it.
# The sourcing script sets S (scratch), started (date +%s), H (the handsync binary) and PC_DB,
# and may define settle (run before each step) and LAB_EXTRA_LOGS.

say() { printf '[lab %4ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
logs() {
    for f in "$@"; do
        [ -f "$f" ] && { echo "---- $f (last 40 lines)"; grep -v -e agent_ref -e agent_unref -e mgmt.c "$f" | tail -n ${LAB_LOG_LINES:-40}; }
    done
}
fail() {
    say "FAILED: $current: $*"
    logs $S/serve.log $S/phone.log $S/step.log ${LAB_EXTRA_LOGS:-}
    exit 1
}
# step NAME SECONDS COMMAND...: runs COMMAND with a timeout, its output in step.log.
step() {
    current=$1; local seconds=$2; shift 2
    declare -F settle >/dev/null && settle
    say "$current"
    if ! timeout "$seconds" "$@" >$S/step.log 2>&1; then
        fail "\`$*\` failed (status $?)"
    fi
}
# expect_failure NAME SECONDS COMMAND...: the command must fail (and not time out).
expect_failure() {
    current=$1; local seconds=$2; shift 2
    declare -F settle >/dev/null && settle
    say "$current"
    timeout "$seconds" "$@" >$S/step.log 2>&1
    local status=$?
    [ $status -eq 0 ] && fail "\`$*\` succeeded; it should have been refused"
    [ $status -eq 124 ] && fail "\`$*\` timed out"
    return 0
}
# wait_for NAME SECONDS FILE TEXT [COUNT]: until FILE holds TEXT (COUNT times).
wait_for() {
    current=$1; local seconds=$2 file=$3 text=$4 count=${5:-1}
    local deadline=$(( $(date +%s) + seconds ))
    while [ "$(grep -cF -- "$text" "$file" 2>/dev/null)" -lt "$count" ]; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "no \"$text\" in $file within $seconds s"
        sleep 0.5
    done
}
# count_items DATASTORE [DB]: the items a PC store holds (default $PC_DB).
count_items() {
    "$H" --db "${2:-$PC_DB}" export --datastore "$1" --format vcf 2>/dev/null | grep -c '^BEGIN:VCARD'
}
