#!/usr/bin/env bash
# Cold vs cached `airflow2kfp convert` on a generated repo, and the exit codes seen.
#   bash bench/timing.sh [N_DAGS] [PYTHON]      (defaults: 200, .venv/bin/python)
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
python=${2:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" bench/gen_repo.py "$work/dags" --dags "$n" >/dev/null

step() {  # step LABEL EXPECTED-EXIT ARGS...
  local label=$1 expected=$2; shift 2
  local start end status
  start=$(date +%s.%N)
  "$python" cli.py "$@" >"$work/last.log" 2>&1
  status=$?
  end=$(date +%s.%N)
  printf '%-34s %6.2fs  exit %d (expected %d)\n' "$label" "$(echo "$end - $start" | bc)" "$status" "$expected"
  grep -E "files:|outputs:|up to date" "$work/last.log" | sed 's/^/    /'
}

echo "$n DAGs, $(nproc) cores"
step "cold convert" 0 convert "$work/dags" --out "$work/out" -q
step "cached convert (nothing changed)" 0 convert "$work/dags" --out "$work/out"
step "check (fresh)" 0 check "$work/dags" --out "$work/out"
sed -i 's/echo 7-0/echo 7-0 edited/' "$work/dags/dag_0007.py"
step "one DAG edited" 0 convert "$work/dags" --out "$work/out"
echo '# edited' >> "$work/dags/common/settings.py"
step "helper edited: all DAGs import it" 0 convert "$work/dags" --out "$work/out"
sed -i 's/echo 9-0/echo 9-0 edited/' "$work/dags/dag_0009.py"
step "check after a DAG edit (stale)" 1 check "$work/dags" --out "$work/out" -q
printf "from airflow import DAG\nfrom x import Thing\nwith DAG(\"odd\"):\n    Thing(task_id=\"t\")\n" > "$work/odd.py"
step "unmapped operator, --fail-on warning" 1 convert "$work/dags" "$work/odd.py" --out "$work/out" --fail-on warning -q
echo "# mine" > "$work/out/pipelines/mine.py"
cp "$work/dags/dag_0001.py" "$work/dags/mine.py"; sed -i 's/generated_0001/mine/' "$work/dags/mine.py"
step "foreign file in OUT (no --force)" 2 convert "$work/dags" --out "$work/out" -q
