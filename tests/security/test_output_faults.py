"""Faults writing OUT are coded and leave nothing behind: one run per OUT at a time, a read-only OUT
and a full disk keep the previous outputs, and what a killed run left is removed by the next one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from airflow2kfp.outputs import MANIFEST_FILE, sha256
from tests.security.output_fixtures import ROOT, child, convert, leftovers, run, snapshot, write_dag

# a convert run in a child process that can be held inside its lock on OUT: before writing, it
# says "holding" and waits until the file RELEASE exists (or for PAUSE seconds)
HELD_RUN = textwrap.dedent("""
    import os, sys, time
    import airflow2kfp.outputs as outputs, airflow2kfp.run as run
    outputs.LOCK_WAIT_SECONDS = float(os.environ.get("LOCK_WAIT", "10"))
    write_tree = run.write_tree
    def held(*args, **kwargs):
        if os.environ.get("RELEASE"):
            print("holding", flush=True)
            deadline = time.monotonic() + 120
            while not os.path.exists(os.environ["RELEASE"]) and time.monotonic() < deadline:
                time.sleep(0.05)
        return write_tree(*args, **kwargs)
    run.write_tree = held
    from airflow2kfp.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_dag(tmp_path / "dags", "nightly_export")
    write_dag(tmp_path / "dags", "orders")
    return tmp_path


def consistent(out: Path) -> None:
    """Every file the manifest lists is there with its hash, nothing pending, nothing left over."""
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["pending"] == {} and manifest["reports_pending"] == []
    for relative, digest in {**manifest["files"], **manifest["reports"]}.items():
        assert sha256((out / relative).read_bytes()) == digest, relative
    assert leftovers(out) == []


def wait_for(process: subprocess.Popen[str], word: str) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert word in line, line + process.stdout.read()


# -- one run per OUT -------------------------------------------------------------------------------


def test_a_second_run_into_the_same_out_waits_for_the_first(repo: Path) -> None:
    first = child(
        HELD_RUN,
        "convert",
        "dags",
        "--out",
        "out",
        "--mode",
        "static",
        "-j",
        "1",
        "-q",
        cwd=repo,
        env={"RELEASE": str(repo / "go")},
    )
    wait_for(first, "holding")  # converted, inside its lock, about to write
    write_dag(repo / "dags", "orders", description="a second run's change")
    second = child(
        HELD_RUN,
        "convert",
        "dags",
        "--out",
        "out",
        "--mode",
        "static",
        "-j",
        "1",
        "-q",
        cwd=repo,
        env={"LOCK_WAIT": "60"},
    )
    time.sleep(1.5)
    assert second.poll() is None  # waiting for the lock
    (repo / "go").touch()
    assert first.wait(timeout=120) == 0, first.stdout.read() if first.stdout else ""
    assert second.wait(timeout=120) == 0, second.stdout.read() if second.stdout else ""
    consistent(repo / "out")
    assert (
        "a second run's change" in (repo / "out" / "conversion.json").read_text()
    )  # the later run's outputs


def test_a_second_run_that_cannot_wait_exits_2_saying_why_and_changes_nothing(repo: Path) -> None:
    assert convert(repo / "dags", repo / "out")[0] == 0
    write_dag(repo / "dags", "orders", description="first run's change")
    first = child(
        HELD_RUN,
        "convert",
        "dags",
        "--out",
        "out",
        "--mode",
        "static",
        "-j",
        "1",
        "-q",
        cwd=repo,
        env={"RELEASE": str(repo / "go")},
    )
    wait_for(first, "holding")
    before = snapshot(repo / "out")
    second = child(
        HELD_RUN,
        "convert",
        "dags",
        "--out",
        "out",
        "--mode",
        "static",
        "-j",
        "1",
        "-q",
        "--prune",
        cwd=repo,
        env={"LOCK_WAIT": "0.5"},
    )
    printed = second.communicate(timeout=120)[0]
    assert second.returncode == 2
    assert "A2K710 [error] another airflow2kfp run is writing to out; nothing was changed" in printed
    assert "Traceback" not in printed and snapshot(repo / "out") == before
    checked = child(
        HELD_RUN,
        "check",
        "dags",
        "--out",
        "out",
        "--mode",
        "static",
        "-q",
        cwd=repo,
        env={"LOCK_WAIT": "0.5"},
    )
    assert checked.wait(timeout=120) == 2 and "A2K710" in (checked.stdout.read() if checked.stdout else "")
    (repo / "go").touch()
    assert first.wait(timeout=120) == 0
    consistent(repo / "out")
    assert "first run's change" in (repo / "out" / "conversion.json").read_text()


def test_the_lock_is_not_held_by_a_worker_that_outlives_its_run(repo: Path) -> None:
    """An flock lasts while any copy of its descriptor is open: forked workers must not keep one."""
    script = textwrap.dedent("""
        import os, sys, time
        from pathlib import Path
        from airflow2kfp.outputs import locked
        out = Path(sys.argv[1])
        with locked(out):
            if os.fork() == 0:  # a worker forked during the run, still alive after it
                time.sleep(30)
                os._exit(0)
        print("released", flush=True)
        time.sleep(30)
    """)
    (repo / "out").mkdir()
    holder = child(script, repo / "out", cwd=repo)
    try:
        wait_for(holder, "released")
        code, printed = convert(repo / "dags", repo / "out")
        assert code == 0, printed
    finally:
        holder.kill()
        holder.wait()


# -- what a killed run leaves ----------------------------------------------------------------------


def test_part_files_and_staging_folders_of_a_killed_run_are_removed(repo: Path) -> None:
    out = repo / "out"
    assert convert(repo / "dags", out)[0] == 0
    planted = [
        out / ".index.html.a1b2c3d4.part",
        out / "reports" / ".orders.html.k3_9xq0z.part",
        out / "..airflow2kfp-manifest.json.0f0f0f0f.part",
    ]
    for path in planted:
        path.write_text("half a file")
    (out / ".airflow2kfp-staging-abc123").mkdir()
    (out / ".airflow2kfp-staging-abc123" / "new-0").write_text("x")
    mine = out / "reports" / "notes.part"  # not a name the tool makes
    mine.write_text("mine")
    assert convert(repo / "dags", out)[0] == 0  # nothing changed: still cleaned
    assert leftovers(out) == ["reports/notes.part"] and mine.read_text() == "mine"


KILL_WHILE_RENDERING = textwrap.dedent("""
    import os, sys
    import airflow2kfp.outputs as outputs
    replace = os.replace
    def dying(source, target):
        if "/reports/" in str(target):
            os._exit(9)  # as abrupt as SIGKILL, with a report's .part file written and not yet renamed
        replace(source, target)
    outputs.os.replace = dying
    from airflow2kfp.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_a_run_killed_while_rendering_reports_leaves_no_part_file_for_good(repo: Path) -> None:
    out = repo / "out"
    assert convert(repo / "dags", out)[0] == 0
    write_dag(repo / "dags", "orders", description="changed")
    killed = child(
        KILL_WHILE_RENDERING, "convert", "dags", "--out", "out", "--mode", "static", "-j", "1", cwd=repo
    )
    assert killed.wait(timeout=120) == 9
    assert any(p.endswith(".part") for p in leftovers(out))  # what the kill left
    assert json.loads((out / MANIFEST_FILE).read_text())["reports_pending"]
    code, printed = convert(repo / "dags", out)  # nothing changed since: it still finishes the reports
    assert code == 0, printed
    consistent(out)
    assert "changed" in (out / "reports" / "orders.md").read_text()
    assert run("report", out)[0] == 0 and leftovers(out) == []


# -- read-only OUT, full disk: in a mount namespace of their own --------------------------------------


def _mount_namespace_or_skip() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs (read-only / full file system)")
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) for a private mount namespace")
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "true"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"this machine does not allow mount namespaces: {probe.stderr.decode().strip()}")


# runs in `unshare -m`: the tmpfs exists only for this process and its children, and vanishes with them
IN_NAMESPACE = textwrap.dedent("""
    import json, os, subprocess, sys
    mount, steps = sys.argv[1], json.loads(sys.argv[2])
    results = []
    def cli(*args):
        done = subprocess.run([sys.executable, "-m", "airflow2kfp.cli", *args], capture_output=True, text=True)
        return {"code": done.returncode, "printed": done.stdout + done.stderr}
    def tree(folder):
        found = {}
        for base, dirs, files in os.walk(folder):
            for name in files:
                path = os.path.join(base, name)
                with open(path, "rb") as handle:
                    found[os.path.relpath(path, folder)] = handle.read().hex()
        return found
    for step in steps:
        kind = step[0]
        if kind == "mount":
            subprocess.run(["mount", "-t", "tmpfs", "-o", step[1], "tmpfs", mount], check=True)
        elif kind == "remount":
            subprocess.run(["mount", "-o", "remount," + step[1], mount], check=True)
        elif kind == "fill":
            filler = os.open(os.path.join(mount, "filler"), os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                while os.write(filler, b"\\0" * 4096):
                    pass
            except OSError:  # full
                pass
            os.close(filler)
        elif kind == "unfill":
            os.unlink(os.path.join(mount, "filler"))
        elif kind == "tree":
            results.append(tree(os.path.join(mount, step[1])))
        elif kind == "write":
            with open(step[1], "w") as handle:
                handle.write(step[2])
        else:
            results.append(cli(*step[1:]))
    print(json.dumps(results))
""")


def in_namespace(repo: Path, steps: list[list[str]]) -> list:
    mount = repo / "mnt"
    mount.mkdir()
    done = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            sys.executable,
            "-c",
            IN_NAMESPACE,
            str(mount),
            json.dumps(steps),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


CONVERT = ["cli", "convert", "dags", "--out", "mnt/out", "--mode", "static", "-j", "1", "-q"]


def test_a_read_only_out_is_a_coded_error_and_keeps_the_outputs(repo: Path) -> None:
    _mount_namespace_or_skip()
    changed = (repo / "dags" / "orders.py").read_text().replace("nightly export", "read-only change")
    first, before, unchanged, edited, reported, new, after = in_namespace(
        repo,
        [
            ["mount", "size=8m"],
            CONVERT,
            ["tree", "out"],
            ["remount", "ro"],
            CONVERT,  # nothing to write: a read-only OUT is fine
            ["write", "dags/orders.py", changed],
            CONVERT,
            ["cli", "report", "mnt/out"],
            ["cli", "convert", "dags", "--out", "mnt/new", "--mode", "static", "-j", "1", "-q"],
            ["tree", "out"],
        ],
    )
    assert first["code"] == 0 and unchanged["code"] == 0, first["printed"] + unchanged["printed"]
    for failed in (edited, reported, new):
        assert failed["code"] == 2 and "A2K711 [error]" in failed["printed"], failed["printed"]
        assert "Read-only file system" in failed["printed"] and "Traceback" not in failed["printed"]
    assert "nothing in it was changed" in edited["printed"]
    assert after == before


def test_a_full_disk_is_a_coded_error_that_keeps_the_outputs_and_leaves_no_part_file(repo: Path) -> None:
    _mount_namespace_or_skip()
    changed = (repo / "dags" / "orders.py").read_text().replace("nightly export", "a change on a full disk")
    first, before, full, after, freed, final = in_namespace(
        repo,
        [
            ["mount", "size=2m"],
            CONVERT,
            ["tree", "out"],
            ["fill"],
            ["write", "dags/orders.py", changed],
            CONVERT,
            ["tree", "out"],
            ["unfill"],
            CONVERT,
            ["tree", "out"],
        ],
    )
    assert first["code"] == 0, first["printed"]
    assert (
        full["code"] == 2
        and "A2K712 [error]" in full["printed"]
        and "No space left on device" in full["printed"]
    )
    assert "Traceback" not in full["printed"]
    assert after == before  # the previous outputs, and nothing else (no .part, no staging folder)
    assert (
        freed["code"] == 0 and "a change on a full disk" in bytes.fromhex(final["conversion.json"]).decode()
    )


def test_a_disk_that_fills_while_reports_render_is_coded_and_the_next_run_finishes_them(repo: Path) -> None:
    _mount_namespace_or_skip()
    # the pipelines (~60 KB) fit in 128 KB, their reports (~140 KB) do not
    failed, during, grown, after = in_namespace(
        repo,
        [
            ["mount", "size=128k"],
            CONVERT,
            ["tree", "out"],
            ["remount", "size=8m"],
            CONVERT,
            ["tree", "out"],
        ],
    )
    assert failed["code"] == 2 and "A2K712 [error] cannot write a report" in failed["printed"], failed[
        "printed"
    ]
    assert not [name for name in during if name.endswith(".part") or "staging" in name]
    assert json.loads(bytes.fromhex(during[MANIFEST_FILE]))["reports_pending"]
    assert grown["code"] == 0, grown["printed"]
    manifest = json.loads(bytes.fromhex(after[MANIFEST_FILE]))
    assert manifest["reports_pending"] == [] and set(manifest["reports"]) == {
        "index.html",
        "index.md",
        *(f"reports/{d}.{s}" for d in ("nightly_export", "orders") for s in ("html", "md")),
    }
    assert all(sha256(bytes.fromhex(after[name])) == digest for name, digest in manifest["reports"].items())


def test_where_a_folder_cannot_be_locked_a_lock_file_is_used_and_check_creates_none(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some network file systems refuse an flock on a folder (EBADF): the run locks a file in OUT."""
    import errno
    import fcntl
    import stat as stat_module

    flock = fcntl.flock

    def no_folder_locks(descriptor: int, operation: int) -> None:
        if stat_module.S_ISDIR(os.fstat(descriptor).st_mode):
            raise OSError(errno.EBADF, "Bad file descriptor")
        flock(descriptor, operation)

    monkeypatch.setattr("airflow2kfp.outputs.fcntl.flock", no_folder_locks)
    (repo / "checked").mkdir()
    assert run("check", "dags", "--out", "checked", "--mode", "static")[0] == 1  # nothing converted there
    assert list((repo / "checked").iterdir()) == []  # check writes nothing, not even a lock file
    code, printed = convert(repo / "dags", repo / "out")
    assert code == 0, printed
    assert (repo / "out" / ".airflow2kfp-lock").is_file()
    assert convert(repo / "dags", repo / "out")[0] == 0  # and it is no conflict on the next run
