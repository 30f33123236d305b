# Shared helpers for scripts/demo and scripts/test.

# uses_mysql: true when DATABASE_URL names MySQL or MariaDB (django-environ's mysql schemes).
uses_mysql() {
  case "${DATABASE_URL:-}" in
    mysql://* | mysql2://* | mysqlgis://* | mariadb://*) return 0 ;;
  esac
  return 1
}

# ensure_venv REQUIREMENTS [with-mysql|without-mysql]: a .venv with the pinned packages,
# installed again only when a requirements file changes. without-mysql (the default) leaves
# out mysqlclient, the one package that compiles against system headers (the MariaDB client
# library), so the zero-setup runs on SQLite need nothing but Python. Returns non-zero,
# without marking the venv as installed, when anything fails, so callers need no `set -e`.
ensure_venv() {
  local reqs=$1 mysql=${2:-without-mysql}
  local python=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    if ! "$python" -m venv .venv; then
      echo "Could not create .venv with $python (Debian/Ubuntu: apt install python3-venv)." >&2
      return 1
    fi
  fi
  local hash set
  hash=$(cat requirements*.txt | sha1sum | cut -c1-12)
  set=$(basename "$reqs" .txt)
  _venv_has "$hash" "$set" "$mysql" && return 0
  if [ "$mysql" = with-mysql ] && ! .venv/bin/python -c "import MySQLdb" 2>/dev/null; then
    _check_mysql_build_deps || return 1
  fi
  local list=.venv/$set-$mysql.txt
  _flatten_requirements "$reqs" > "$list" || return 1
  if [ "$mysql" = without-mysql ]; then
    grep -iv '^mysqlclient' "$list" > "$list.tmp" && mv "$list.tmp" "$list"
  fi
  echo "Installing Python packages into .venv (first run only)..."
  .venv/bin/python -m pip install -q --upgrade pip ||
    echo "(could not upgrade pip; going on with the one the venv has)" >&2
  if ! .venv/bin/python -m pip install -q -r "$list"; then
    echo "Installing the packages of $reqs failed (see pip's message above)." >&2
    return 1
  fi
  touch ".venv/.installed-$hash-$set-$mysql"
}

# _venv_has HASH SET MYSQL: an earlier install covers this one. requirements-dev includes
# requirements, and with-mysql includes without-mysql; `.installed-HASH` alone is the stamp
# earlier versions of this script wrote for the full set, mysqlclient included.
_venv_has() {
  local hash=$1 set=$2 mysql=$3 s m
  [ -f ".venv/.installed-$hash" ] && return 0
  for s in "$set" requirements-dev; do
    for m in "$mysql" with-mysql; do
      [ -f ".venv/.installed-$hash-$s-$m" ] && return 0
    done
    [ "$set" = requirements ] || break
  done
  return 1
}

# _flatten_requirements FILE: FILE with its `-r other.txt` lines replaced by their contents.
_flatten_requirements() {
  local file=$1 line
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "-r "*) _flatten_requirements "$(dirname "$file")/${line#-r }" || return 1 ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < "$file"
}

# _check_mysql_build_deps: mysqlclient has no wheel for Linux or macOS; pip compiles it,
# which needs a C compiler, Python's headers and the MariaDB (or MySQL) client library found
# through pkg-config (or MYSQLCLIENT_CFLAGS and MYSQLCLIENT_LDFLAGS). Say what is missing
# before pip fails with "Can not find valid pkg-config name".
_check_mysql_build_deps() {
  local missing=()
  if [ -z "${MYSQLCLIENT_CFLAGS:-}" ] || [ -z "${MYSQLCLIENT_LDFLAGS:-}" ]; then
    if ! command -v pkg-config >/dev/null 2>&1; then
      missing+=("pkg-config")
    elif ! pkg-config --exists mysqlclient 2>/dev/null && ! pkg-config --exists mariadb 2>/dev/null &&
      ! pkg-config --exists libmariadb 2>/dev/null; then
      missing+=("the MariaDB client headers (libmariadb-dev)")
    fi
  fi
  command -v "${CC:-cc}" >/dev/null 2>&1 || missing+=("a C compiler (gcc)")
  .venv/bin/python -c "import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" ||
    missing+=("Python's headers (python3-dev)")
  [ ${#missing[@]} -eq 0 ] && return 0
  {
    echo "DATABASE_URL names MySQL/MariaDB, so the tests need mysqlclient, which pip compiles"
    echo "against the MariaDB client library. Missing: $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g')."
    echo "  Debian/Ubuntu: sudo apt install libmariadb-dev pkg-config gcc python3-dev"
    echo "  macOS (Homebrew): brew install mariadb-connector-c pkg-config"
    echo "Or leave DATABASE_URL unset to run on SQLite, which needs none of them."
  } >&2
  return 1
}

# wait_for_port HOST PORT WHAT: up to 30 s for a TCP listener.
wait_for_port() {
  local host=$1 port=$2 what=$3
  for _ in $(seq 1 60); do
    if .venv/bin/python -c "import socket,sys; socket.create_connection(('$host',$port),1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "Timed out waiting for $what on $host:$port." >&2
  return 1
}
