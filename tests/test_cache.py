"""The content-hash cache: an unchanged re-run reads nothing; a change reconverts only what it touches."""

import pytest

from airflow2kfp.cache import Cache, Hasher, default_cache_dir
from tests import fake_reader
from tests.fake_reader import dag_file

# a run reads DAG files with the small fake reader (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("fake_static_reader")


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The display paths the reader is asked for (runs are in-process with -j 1)."""
    seen: list[str] = []
    original = fake_reader.read_dag_file

    def counting(path, *, display_path=None, **kwargs):
        seen.append(display_path)
        return original(path, display_path=display_path, **kwargs)

    monkeypatch.setattr(fake_reader, "read_dag_file", counting)
    return seen


def convert(run, *extra):
    code, out, _ = run("convert", "dags", "--out", "out", "-j", "1", *extra)
    assert code == 0, out
    return out


def test_a_rerun_with_nothing_changed_is_served_from_the_cache(repo, run, reads):
    convert(run)
    assert sorted(reads) == ["dags/alpha.py", "dags/beta.py"]
    reads.clear()
    assert "(2 from cache)" in convert(run) and reads == []
    # in the user's cache folder, not in OUT: output folders are committed by other people
    assert (default_cache_dir(repo.parent / "out") / "CACHEDIR.TAG").is_file()
    assert not any(".airflow2kfp-cache" in p.name for p in (repo.parent / "out").rglob("*"))


def test_touching_a_helper_module_reconverts_only_the_dags_importing_it(repo, run, reads):
    convert(run)
    reads.clear()
    (repo / "common" / "tools.py").write_text("VALUE = 2\n")
    assert "(1 from cache)" in convert(run) and reads == ["dags/alpha.py"]


def test_editing_a_dag_or_changing_options_invalidates(repo, run, reads):
    convert(run)
    reads.clear()
    (repo / "beta.py").write_text(dag_file("beta", "x", "y"))
    convert(run)
    assert reads == ["dags/beta.py"]
    reads.clear()
    convert(run, "--bash-image", "bash:5.1")
    assert sorted(reads) == ["dags/alpha.py", "dags/beta.py"]


def test_editing_a_template_file_a_bash_task_may_inline_reconverts(repo, run, reads):
    """The mapping inlines `bash_command="scripts/load.sh"` (read nowhere outside the DAG folder):
    a static run's key holds the .sh/.bash files below it, and the bytes of files no reading reads
    not (their names only: a listing may see a file added)."""
    (repo / "scripts").mkdir()
    (repo / "scripts" / "load.sh").write_text("echo one\n")
    (repo / "data.csv").write_text("a,b\n")
    convert(run)
    reads.clear()
    (repo / "data.csv").write_text("a,b,c\n")
    assert "(2 from cache)" in convert(run)
    (repo / "scripts" / "load.sh").write_text("echo two\n")
    convert(run)
    assert sorted(reads) == ["dags/alpha.py", "dags/beta.py"]


def test_no_cache_and_a_custom_cache_dir(repo, run, reads):
    convert(run, "--no-cache")
    convert(run, "--no-cache")
    assert len(reads) == 4 and not default_cache_dir(repo.parent / "out").exists()
    convert(run, "--cache-dir", "cachedir")
    assert "(2 from cache)" in convert(run, "--cache-dir", "cachedir")


def test_creating_a_module_that_an_import_names_invalidates(tmp_path):
    (tmp_path / "dag.py").write_text("import helpers_later\nfrom pkg import sub\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    before = Hasher().key(tmp_path / "dag.py", "dag.py", (tmp_path,), "opts")
    modules, missing = Hasher().dependencies(tmp_path / "dag.py", (tmp_path,))
    assert modules == [(tmp_path / "pkg" / "__init__.py").resolve()] and "helpers_later" in missing
    (tmp_path / "pkg" / "sub.py").write_text("import helpers_later\n")
    assert Hasher().key(tmp_path / "dag.py", "dag.py", (tmp_path,), "opts") != before


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"key": "abcd", "value": {"path": "x"}}',  # not a FileResult
        b'{"key": "abcd", "value": [1, 2]}',
        b'{"key": "other", "value": null}',  # written under another key
        b"[]",
    ],
)
def test_a_corrupt_or_foreign_entry_is_a_miss(tmp_path, content):
    cache = Cache(tmp_path)
    entry = tmp_path / "v2" / "ab" / "abcd.json"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(content)
    assert cache.get("abcd") is None


def test_an_entry_is_read_back_as_the_result_it_was_and_only_under_its_key(tmp_path):
    from airflow2kfp.diagnostics import diag
    from airflow2kfp.results import FileResult, Status

    result = FileResult("dags/a.py", Status.FAILED, (diag("A2K101", "bad", file="dags/a.py", line=3),))
    cache = Cache(tmp_path)
    cache.put("abcd", result)
    assert cache.get("abcd") == result
    (tmp_path / "v2" / "ab" / "abcd.json").rename(tmp_path / "v2" / "ab" / "abce.json")
    assert cache.get("abce") is None


@pytest.mark.parametrize("code", ["A2K402", "A2K602", "A2K603", "A2K604", "A2K606"])
def test_transient_failures_are_not_cached(tmp_path, code):
    from airflow2kfp.diagnostics import diag
    from airflow2kfp.results import FileResult, Status

    cache = Cache(tmp_path)
    cache.put("abcd", FileResult("dags/a.py", Status.FAILED, (diag(code, "transient", file="dags/a.py"),)))
    assert cache.get("abcd") is None and not (tmp_path / "v2" / "ab" / "abcd.json").exists()


def test_a_read_only_cache_writes_nothing(tmp_path):
    from airflow2kfp.results import FileResult, Status

    Cache(tmp_path / "c", writable=False).put("abcd", FileResult("a.py", Status.SKIPPED, ()))
    Cache(tmp_path / "c", writable=False).save_imports({"h": (("os", 0),)})
    assert not (tmp_path / "c").exists()


def test_imports_nested_in_functions_classes_and_handlers_are_followed(tmp_path):
    (tmp_path / "dag.py").write_text(
        "def f():\n    import a\nclass C:\n    if x:\n        from b import c\n"
        "try:\n    pass\nexcept E:\n    import d\nfinally:\n    import e\n"
        "match v:\n    case 1:\n        import g\n"
    )
    _, missing = Hasher().dependencies(tmp_path / "dag.py", (tmp_path,))
    assert missing == ["a", "b", "b.c", "d", "e", "g"]


def test_a_rerun_reads_imports_from_the_memo_and_keys_alike(tmp_path, monkeypatch):
    import airflow2kfp.local_imports as scanner_module

    (tmp_path / "dag.py").write_text("import helper\n")
    (tmp_path / "helper.py").write_text("X = 1\n")
    first = Hasher()
    key = first.key(tmp_path / "dag.py", "dag.py", (tmp_path,), "opts")
    store = Cache(tmp_path / "cache")
    store.save_imports(first.imports)
    monkeypatch.setattr(scanner_module, "_imported_names", lambda data: pytest.fail("parsed again"))
    again = Hasher(store.load_imports())
    assert again.key(tmp_path / "dag.py", "dag.py", (tmp_path,), "opts") == key
    monkeypatch.undo()
    (tmp_path / "dag.py").write_text("import other\n")  # new bytes: a new memo entry, a new key
    assert Hasher(store.load_imports()).key(tmp_path / "dag.py", "dag.py", (tmp_path,), "opts") != key


def test_timings_count_only_the_files_converted_in_this_run(repo, run):
    first = convert(run, "--timings")
    assert "timings (converting 2 file(s)" in first and "compile" in first and "reports" in first
    again = convert(run, "--timings")
    assert "timings (converting 0 file(s), summed over workers): nothing converted" in again


def test_the_key_changes_with_the_converters_own_code(tmp_path, monkeypatch):
    import airflow2kfp.cache as cache_module

    (tmp_path / "dag.py").write_text("X = 1\n")
    before = Hasher().key(tmp_path / "dag.py", "dag.py", (tmp_path,), "opts")
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda: "edited code")
    assert Hasher().key(tmp_path / "dag.py", "dag.py", (tmp_path,), "opts") != before
