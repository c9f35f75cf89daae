/**
 * The backup and restore scripts, as text. render puts them into the `<stack>-backup-scripts` ConfigMap under
 * the keys `backup.sh` and `restore.sh`; the backup CronJob, the on-demand Job, the bootstrap Job and
 * `flash-sale-operator backup drill` run exactly this text with bash. Pure: no IO.
 *
 * Environment contract (both scripts):
 *   PGHOST, PGPORT, PGUSER            where and as whom to connect (libpq reads them itself)
 *   PGDATABASE                        database to dump (backup.sh)
 *   PGPASSWORD_FILE                   optional: a file holding only the password (the mounted Secret key); the
 *                                     script copies it into a 0600 pgpass file in a private temp directory and
 *                                     exports PGPASSFILE. The password never goes on a command line, into the
 *                                     environment of a child, or to stdout/stderr. (PGPASSFILE may instead be
 *                                     given directly; PGPASSWORD is unset either way.)
 *   BACKUP_DIR                        directory of the dumps (the backup volume)
 *   STACK                             stack name: dumps are `<STACK>-<UTC timestamp>.dump`
 *   RETENTION_DAYS (30), MIN_KEEP (3) retention (backup.sh)
 *   VERIFY (1)                        1: `pg_restore --list` AND a full read of every data block
 *                                     (`pg_restore -f /dev/null`); 0: `pg_restore --list` only
 *   BACKUP_FILE (latest), TARGET_DATABASE, FORCE (0), REQUIRE_CHECKSUM (1), SKIP_IF_RESTORED (0) (restore.sh)
 *                                     Booleans (VERIFY, FORCE, REQUIRE_CHECKSUM, SKIP_IF_RESTORED) take 1/true/
 *                                     yes/on or 0/false/no/off in any case; anything else stops the script.
 *   TERMINATION_LOG (/dev/termination-log)  the final JSON line is also written here when writable, so the
 *                                     controller reads the result from the pod's
 *                                     status.containerStatuses[].state.terminated.message (no log scraping).
 *   LOCK_WAIT_SECONDS (0)             how long to wait for `BACKUP_DIR/.flashsale-backup.lock` (flock)
 *
 * Both scripts print progress to stderr and exactly one JSON object as the last line of stdout.
 */

/** Shell functions every script shares: logging, JSON strings, failure, pgpass, the lock. */
export function common(tool: 'backup' | 'restore' | 'maintenance' | 'basebackup' | 'pitr-restore'): string {
  return String.raw`set -euo pipefail
umask 077
export LC_ALL=C

TOOL=${tool}
TERMINATION_LOG=${'$'}{TERMINATION_LOG:-/dev/termination-log}
WORK_DIR=""
PARTIAL=""

log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$TOOL" "$*" >&2; }

# A JSON string literal for $1 (backslash, quote and control characters escaped).
json_str() {
  local s=$1
  s=${'$'}{s//\\/\\\\}
  s=${'$'}{s//\"/\\\"}
  s=${'$'}{s//$'\n'/\\n}
  s=${'$'}{s//$'\r'/\\r}
  s=${'$'}{s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# The result: last line of stdout, and the container's termination message (<= 4096 bytes) when possible.
emit() {
  local json=$1 short=${'$'}{2:-$1}
  printf '%s\n' "$json"
  if [[ -f $TERMINATION_LOG && -w $TERMINATION_LOG ]]; then
    if (( ${'$'}{#json} <= 4000 )); then printf '%s\n' "$json" >"$TERMINATION_LOG" || true
    else printf '%s\n' "$short" >"$TERMINATION_LOG" || true; fi
  fi
}

fail() {
  log "ERROR: $*"
  emit "{\"tool\":\"$TOOL\",\"succeeded\":false,\"error\":$(json_str "$*")}"
  exit 1
}

cleanup() {
  if [[ -n $PARTIAL ]]; then rm -f -- "$PARTIAL" "$PARTIAL.sha256"; fi
  if [[ -n $WORK_DIR ]]; then rm -rf -- "$WORK_DIR"; fi
}
trap cleanup EXIT

WORK_DIR=$(mktemp -d "${'$'}{TMPDIR:-/tmp}/flashsale-$TOOL.XXXXXX") || fail "cannot create a temporary directory in ${'$'}{TMPDIR:-/tmp}"

# Password: from PGPASSWORD_FILE into a private 0600 pgpass file (builtins only: never on a command line).
unset PGPASSWORD
if [[ -n ${'$'}{PGPASSWORD_FILE:-} ]]; then
  [[ -r $PGPASSWORD_FILE ]] || fail "PGPASSWORD_FILE $PGPASSWORD_FILE is not readable (is the credentials Secret mounted?)"
  pw=""
  IFS= read -r -d '' pw <"$PGPASSWORD_FILE" || true
  pw=${'$'}{pw%$'\n'}
  pw=${'$'}{pw%$'\r'}
  [[ -n $pw ]] || fail "PGPASSWORD_FILE $PGPASSWORD_FILE is empty"
  [[ $pw != *$'\n'* ]] || fail "the password in PGPASSWORD_FILE contains a newline, which a pgpass file cannot hold"
  pw=${'$'}{pw//\\/\\\\}
  pw=${'$'}{pw//:/\\:}
  printf '*:*:*:*:%s\n' "$pw" >"$WORK_DIR/pgpass"
  unset pw
  chmod 0600 "$WORK_DIR/pgpass"
  export PGPASSFILE="$WORK_DIR/pgpass"
fi

require_env() {
  local v
  for v in "$@"; do
    [[ -n ${'$'}{!v:-} ]] || fail "$v is not set (the operator's Job sets it; see docs/operations.md)"
  done
}

# Reads the boolean variable $1 (default $2) as 1 or 0: 1/true/yes/on, 0/false/no/off, any case; else fails.
bool_env() {
  local value=${'$'}{!1:-$2}
  case ${'$'}{value,,} in
    1 | true | yes | on) printf -v "$1" 1 ;;
    0 | false | no | off) printf -v "$1" 0 ;;
    *) fail "$1 must be a boolean (1, true, yes, on or 0, false, no, off), got '$value'" ;;
  esac
}

# flock on BACKUP_DIR/.flashsale-backup.lock: a backup and a restore (or two of either) never overlap.
take_lock() {
  local lock="$BACKUP_DIR/.flashsale-backup.lock" wait=${'$'}{LOCK_WAIT_SECONDS:-0}
  [[ $wait =~ ^[0-9]+$ ]] || fail "LOCK_WAIT_SECONDS must be a whole number, got '$wait'"
  if ! exec 9>>"$lock"; then
    if [[ $TOOL == restore ]]; then log "BACKUP_DIR is read-only; restoring without the lock"; return 0; fi
    fail "cannot open the lock file $lock (is BACKUP_DIR writable?)"
  fi
  if (( wait == 0 )); then
    flock -n 9 || fail "another backup or restore is running (lock $lock is held); not starting a second one"
  else
    flock -w "$wait" 9 || fail "another backup or restore still holds $lock after $wait s"
  fi
}

# Newest verified dump of STACK in BACKUP_DIR (by modification time), or nothing.
latest_dump() {
  local _t path
  while IFS=$'\t' read -r -d '' _t path; do
    if [[ -f $path.sha256 ]]; then printf '%s' "$path"; return 0; fi
  done < <(find "$BACKUP_DIR" -maxdepth 1 -type f -name "$STACK-*.dump" -printf '%T@\t%p\0' | sort -z -t $'\t' -k1,1 -rn)
  return 0
}

# A libpq connection string for dbname=$1 (quoted, so any database name works).
conninfo_db() {
  local s=$1
  s=${'$'}{s//\\/\\\\}
  s=${'$'}{s//\'/\\\'}
  printf "dbname='%s'" "$s"
}
`;
}

/** backup.sh: pg_dump -Fc → verify → sha256 → atomic rename → retention → one JSON line. */
export function backupScript(): string {
  return (
    String.raw`#!/usr/bin/env bash
# backup.sh — generated by flash-sale-operator (src/backup/scripts.ts); do not edit the ConfigMap by hand.
# pg_dump -Fc to a temporary name, verify, write <dump>.sha256, rename atomically to <STACK>-<UTC>.dump,
# then apply retention (older than RETENTION_DAYS goes, the newest MIN_KEEP verified dumps always stay).
` +
    common('backup') +
    String.raw`
require_env PGHOST PGPORT PGUSER PGDATABASE BACKUP_DIR STACK
RETENTION_DAYS=${'$'}{RETENTION_DAYS:-30}
MIN_KEEP=${'$'}{MIN_KEEP:-3}
bool_env VERIFY 1
[[ $RETENTION_DAYS =~ ^[0-9]+$ ]] || fail "RETENTION_DAYS must be a whole number of days, got '$RETENTION_DAYS'"
[[ $MIN_KEEP =~ ^[0-9]+$ ]] || fail "MIN_KEEP must be a whole number, got '$MIN_KEEP'"
(( MIN_KEEP >= 1 )) || fail "MIN_KEEP must be at least 1 (the newest good dump is never deleted), got $MIN_KEEP"
[[ $STACK =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || fail "STACK must be a stack name ([A-Za-z0-9._-]), got '$STACK'"
mkdir -p -- "$BACKUP_DIR" 2>/dev/null || fail "cannot create BACKUP_DIR $BACKUP_DIR"
[[ -d $BACKUP_DIR && -w $BACKUP_DIR ]] || fail "BACKUP_DIR $BACKUP_DIR is not a writable directory"

take_lock
start=$(date -u +%s)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
while [[ -e $BACKUP_DIR/$STACK-$stamp.dump ]]; do sleep 1; stamp=$(date -u +%Y%m%dT%H%M%SZ); done
name="$STACK-$stamp.dump"
final="$BACKUP_DIR/$name"
PARTIAL="$BACKUP_DIR/.$name.partial"

log "dumping database '$PGDATABASE' from $PGHOST:$PGPORT as $PGUSER"
if ! pg_dump --format=custom --no-password --file="$PARTIAL" 2>"$WORK_DIR/pg_dump.err"; then
  fail "pg_dump of database '$PGDATABASE' at $PGHOST:$PGPORT failed (nothing deleted): $(tail -n 5 "$WORK_DIR/pg_dump.err" | tr '\n' ' ')"
fi
[[ -s $PARTIAL ]] || fail "pg_dump wrote an empty file; dump discarded (nothing deleted)"

log "verifying the dump's table of contents (pg_restore --list)"
if ! pg_restore --list -- "$PARTIAL" >"$WORK_DIR/toc" 2>"$WORK_DIR/verify.err"; then
  fail "verification failed: pg_restore --list cannot read the dump; dump discarded (nothing deleted): $(tail -n 3 "$WORK_DIR/verify.err" | tr '\n' ' ')"
fi
entries=$(grep -c -E '^[0-9]+;' "$WORK_DIR/toc" || true)
if [[ $VERIFY == 1 ]]; then
  log "verifying every data block (pg_restore --file=/dev/null)"
  if ! pg_restore --file=/dev/null -- "$PARTIAL" 2>"$WORK_DIR/verify.err"; then
    fail "verification failed: the dump's data cannot be read back; dump discarded (nothing deleted): $(tail -n 3 "$WORK_DIR/verify.err" | tr '\n' ' ')"
  fi
fi

sum=$(sha256sum <"$PARTIAL") || fail "sha256sum failed"
sum=${'$'}{sum%% *}
printf '%s  %s\n' "$sum" "$name" >"$PARTIAL.sha256"
sync -- "$PARTIAL" "$PARTIAL.sha256" 2>/dev/null || true
mv -f -- "$PARTIAL.sha256" "$final.sha256"
mv -f -- "$PARTIAL" "$final"
PARTIAL=""
bytes=$(stat -c %s -- "$final")
log "wrote $final ($bytes bytes, $entries TOC entries, sha256 $sum)"

# Retention: only after a good dump. Newest first; the newest MIN_KEEP verified dumps are always kept.
now=$(date -u +%s)
cutoff=$(( now - RETENTION_DAYS * 86400 ))
kept=0
deleted=()
while IFS=$'\t' read -r -d '' t path; do
  t=${'$'}{t%.*}
  if [[ -f $path.sha256 ]] && (( kept < MIN_KEEP )); then kept=$(( kept + 1 )); continue; fi
  if (( t < cutoff )); then
    rm -f -- "$path" "$path.sha256"
    deleted+=("$(basename -- "$path")")
    log "retention: deleted $(basename -- "$path") (older than $RETENTION_DAYS days)"
  fi
done < <(find "$BACKUP_DIR" -maxdepth 1 -type f -name "$STACK-*.dump" -printf '%T@\t%p\0' | sort -z -t $'\t' -k1,1 -rn)
# Leftovers of runs killed mid-dump (we hold the lock, so none is in progress).
find "$BACKUP_DIR" -maxdepth 1 -type f \( -name ".$STACK-*.dump.partial" -o -name ".$STACK-*.dump.partial.sha256" \) -delete 2>/dev/null || true

end=$(date -u +%s)
list=""
for d in "${'$'}{deleted[@]}"; do list+="${'$'}{list:+,}$(json_str "$d")"; done
head="{\"tool\":\"backup\",\"succeeded\":true,\"stack\":$(json_str "$STACK"),\"database\":$(json_str "$PGDATABASE"),\"file\":$(json_str "$name"),\"bytes\":$bytes,\"sha256\":\"$sum\",\"tocEntries\":$entries,\"durationSeconds\":$(( end - start )),\"deletedCount\":${'$'}{#deleted[@]}"
emit "$head,\"deleted\":[$list]}" "$head,\"deleted\":[]}"
`
  );
}

/** restore.sh: checksum → pg_restore --list → target checks → pg_restore (exit status honoured) → JSON. */
export function restoreScript(): string {
  return (
    String.raw`#!/usr/bin/env bash
# restore.sh — generated by flash-sale-operator (src/backup/scripts.ts); do not edit the ConfigMap by hand.
# Restores BACKUP_FILE (a name in BACKUP_DIR, an absolute path, or "latest") into TARGET_DATABASE.
` +
    common('restore') +
    String.raw`
require_env PGHOST PGPORT PGUSER BACKUP_DIR TARGET_DATABASE
BACKUP_FILE=${'$'}{BACKUP_FILE:-latest}
bool_env FORCE 0
bool_env REQUIRE_CHECKSUM 1
bool_env SKIP_IF_RESTORED 0
MAINTENANCE_DATABASE=${'$'}{MAINTENANCE_DATABASE:-postgres}
[[ -d $BACKUP_DIR ]] || fail "BACKUP_DIR $BACKUP_DIR is not a directory"

take_lock
start=$(date -u +%s)
if [[ $BACKUP_FILE == latest ]]; then
  require_env STACK
  file=$(latest_dump)
  [[ -n $file ]] || fail "no verified dump of stack '$STACK' ($STACK-*.dump with a .sha256) in $BACKUP_DIR"
elif [[ $BACKUP_FILE == /* ]]; then
  file=$BACKUP_FILE
else
  file="$BACKUP_DIR/$BACKUP_FILE"
fi
[[ -f $file ]] || fail "backup file $file does not exist"
name=$(basename -- "$file")

sum=$(sha256sum <"$file") || fail "cannot read $file"
sum=${'$'}{sum%% *}
if [[ -f $file.sha256 ]]; then
  expected=$(head -c 64 -- "$file.sha256")
  [[ $expected == "$sum" ]] || fail "checksum mismatch for $name: $name.sha256 says $expected, the file hashes to $sum; refusing to restore a damaged dump"
  log "checksum of $name verified ($sum)"
elif [[ $REQUIRE_CHECKSUM == 1 ]]; then
  fail "$name has no $name.sha256 beside it; refusing to restore an unverified dump (set REQUIRE_CHECKSUM=0 for a dump made elsewhere)"
else
  log "no checksum file for $name; REQUIRE_CHECKSUM=0, continuing"
fi
pg_restore --list -- "$file" >/dev/null 2>"$WORK_DIR/list.err" ||
  fail "$name is not a readable pg_dump custom-format archive: $(tail -n 3 "$WORK_DIR/list.err" | tr '\n' ' ')"

psql_maint() { PGDATABASE=$MAINTENANCE_DATABASE psql -X -q -t -A -v ON_ERROR_STOP=1 -v db="$TARGET_DATABASE" "$@"; }
psql_target() { PGDATABASE=$TARGET_DATABASE psql -X -q -t -A -v ON_ERROR_STOP=1 -v db="$TARGET_DATABASE"; }
user_tables_sql="SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%';"
marker="flashsale.dev/restored-from $name sha256:$sum"

exists=$(printf '%s\n' "SELECT 1 FROM pg_database WHERE datname = :'db';" | psql_maint 2>"$WORK_DIR/psql.err") ||
  fail "cannot connect to PostgreSQL at $PGHOST:$PGPORT (database $MAINTENANCE_DATABASE): $(tail -n 3 "$WORK_DIR/psql.err" | tr '\n' ' ')"
created=false
if [[ $exists != 1 ]]; then
  log "creating database '$TARGET_DATABASE'"
  printf '%s\n' 'CREATE DATABASE :"db";' | psql_maint 2>"$WORK_DIR/psql.err" ||
    fail "cannot create database '$TARGET_DATABASE': $(tail -n 3 "$WORK_DIR/psql.err" | tr '\n' ' ')"
  created=true
else
  tables=$(printf '%s\n' "$user_tables_sql" | psql_target 2>"$WORK_DIR/psql.err") ||
    fail "cannot inspect database '$TARGET_DATABASE': $(tail -n 3 "$WORK_DIR/psql.err" | tr '\n' ' ')"
  if (( tables > 0 )); then
    comment=$(printf '%s\n' "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = :'db';" | psql_maint)
    if [[ $SKIP_IF_RESTORED == 1 && $comment == "$marker" ]]; then
      log "'$TARGET_DATABASE' was already restored from $name; nothing to do"
      emit "{\"tool\":\"restore\",\"succeeded\":true,\"skipped\":true,\"file\":$(json_str "$name"),\"sha256\":\"$sum\",\"targetDatabase\":$(json_str "$TARGET_DATABASE"),\"tables\":$tables}"
      exit 0
    fi
    [[ $FORCE == 1 ]] || fail "database '$TARGET_DATABASE' already has $tables tables; refusing to restore over them (set FORCE=1 to replace the objects in the dump)"
    log "FORCE=1: replacing the dump's objects in '$TARGET_DATABASE' ($tables tables present)"
  fi
fi

args=(--no-owner --no-privileges --exit-on-error --single-transaction --no-password)
if [[ $FORCE == 1 && $created == false ]]; then args+=(--clean --if-exists); fi
log "restoring $name into '$TARGET_DATABASE' at $PGHOST:$PGPORT"
if ! pg_restore "${'$'}{args[@]}" --dbname="$(conninfo_db "$TARGET_DATABASE")" -- "$file" 2>"$WORK_DIR/restore.err"; then
  fail "pg_restore of $name into '$TARGET_DATABASE' failed (the single transaction was rolled back): $(tail -n 5 "$WORK_DIR/restore.err" | tr '\n' ' ')"
fi
printf '%s\n' "COMMENT ON DATABASE :\"db\" IS :'marker';" | psql_maint -v marker="$marker" >/dev/null 2>&1 ||
  log "warning: could not record the restore marker on '$TARGET_DATABASE'"
tables=$(printf '%s\n' "$user_tables_sql" | psql_target)
end=$(date -u +%s)
emit "{\"tool\":\"restore\",\"succeeded\":true,\"skipped\":false,\"file\":$(json_str "$name"),\"sha256\":\"$sum\",\"targetDatabase\":$(json_str "$TARGET_DATABASE"),\"created\":$created,\"tables\":$tables,\"durationSeconds\":$(( end - start ))}"
`
  );
}

/** maintenance.sh: `vacuumdb --analyze-only` of PGDATABASE (the seed's nightly ANALYZE), one JSON line. */
export function maintenanceScript(): string {
  return (
    String.raw`#!/usr/bin/env bash
# maintenance.sh — generated by flash-sale-operator (src/backup/scripts.ts): refresh planner statistics.
` +
    common('maintenance') +
    String.raw`
require_env PGHOST PGPORT PGUSER PGDATABASE
start=$(date -u +%s)
log "ANALYZE of database '$PGDATABASE' at $PGHOST:$PGPORT"
if ! vacuumdb --analyze-only --no-password --dbname="$(conninfo_db "$PGDATABASE")" >/dev/null 2>"$WORK_DIR/vacuumdb.err"; then
  fail "vacuumdb --analyze-only of '$PGDATABASE' failed: $(tail -n 3 "$WORK_DIR/vacuumdb.err" | tr '\n' ' ')"
fi
end=$(date -u +%s)
emit "{\"tool\":\"maintenance\",\"succeeded\":true,\"database\":$(json_str "$PGDATABASE"),\"durationSeconds\":$(( end - start ))}"
`
  );
}
