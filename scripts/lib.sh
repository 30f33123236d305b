# Shared helpers for scripts/demo and scripts/test.

# ensure_venv REQUIREMENTS [--without-mysql]: a .venv with the pinned packages, reinstalled
# only when the requirements change. --without-mysql leaves out mysqlclient (it needs the
# MariaDB client headers, and the zero-setup run uses SQLite).
ensure_venv() {
  local reqs=$1 flag=${2:-}
  local python=${PYTHON:-python3}
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  local stamp=".venv/.installed-$(cat requirements*.txt | sha1sum | cut -c1-12)${flag}"
  [ -f "$stamp" ] && return 0
  local list=$reqs
  if [ "$flag" = "--without-mysql" ]; then
    list=.venv/requirements-no-mysql.txt
    grep -v '^mysqlclient' "$reqs" > "$list"
  fi
  echo "Installing Python packages into .venv (first run only)..."
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$list"
  touch "$stamp"
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
