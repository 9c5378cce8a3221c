"""The part of the import sandbox that runs inside it: framing, dropping privileges, sweeping.

Runs under a *foreign* interpreter (the Airflow environment, Python 3.8+) next to
`probe.py` and `dag_test_runner.py`, so it imports the standard library only; the
converter imports it too, for the framing, so both ends of a channel share one implementation.

Frames: `MAGIC` (4 bytes), the payload length (8 bytes, big-endian), the payload (UTF-8 JSON, or
raw bytes relayed unchanged). A reader that meets anything else (a wrong magic, an oversized
length, bytes after the frames it expected) knows the channel was tampered with.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import stat
import time
from typing import Any

MAGIC = b"A2KF"
HEADER = len(MAGIC) + 8
MAX_FRAME = 256 * 1024 * 1024  # one DAG file's answer; far above any real DAG's
NOBODY = 65534  # the unprivileged user the sandbox's root flavour maps (see airflow2kfp.parse.sandbox)
# Where things are inside a bubblewrap sandbox (airflow2kfp.parse.sandbox builds it that way)
CWD = "/airflow2kfp/cwd"  # each file's working folder
SCRATCH = ("/tmp", "/dev/shm")  # with CWD, the only places a DAG file can write; emptied after each file


class FrameError(Exception):
    """The bytes on a channel are not the frames the protocol allows."""


def encode(document: Any) -> bytes:
    """One frame holding `document` as JSON (bytes are framed as they are)."""
    payload = document if isinstance(document, bytes) else json.dumps(document, sort_keys=True).encode()
    return MAGIC + len(payload).to_bytes(8, "big") + payload


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def split_frames(data: bytes) -> tuple[list[bytes], bytes]:
    """The complete frames at the start of `data` and the bytes after them (an incomplete frame).

    Raises FrameError for bytes that cannot start a frame."""
    frames: list[bytes] = []
    offset = 0
    while len(data) - offset >= HEADER:
        if data[offset : offset + len(MAGIC)] != MAGIC:
            raise FrameError("bytes that are not a frame")
        size = int.from_bytes(data[offset + len(MAGIC) : offset + HEADER], "big")
        if size > MAX_FRAME:
            raise FrameError(f"a frame larger than {MAX_FRAME} bytes")
        if len(data) - offset - HEADER < size:
            break
        frames.append(data[offset + HEADER : offset + HEADER + size])
        offset += HEADER + size
    if data[offset : offset + len(MAGIC)] and not MAGIC.startswith(data[offset : offset + len(MAGIC)]):
        raise FrameError("bytes that are not a frame")
    return frames, data[offset:]


class FrameReader:
    """Frames from a file descriptor, with a deadline; FrameError on anything else, EOFError at the end."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.frames: list[bytes] = []

    def read(self, deadline: float) -> bytes | None:
        """The next frame, or None when the deadline passed first."""
        while not self.frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], None if remaining == float("inf") else remaining)
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                raise EOFError("the channel was closed")
            frames, self.buffer = split_frames(self.buffer + chunk)
            self.frames.extend(frames)
        return self.frames.pop(0)


def read_json_frame(reader: FrameReader, deadline: float) -> dict[str, Any] | None:
    frame = reader.read(deadline)
    if frame is None:
        return None
    document = json.loads(frame)
    if not isinstance(document, dict):
        raise FrameError("a frame that is not a JSON object")
    return document


# -- one imported file's process ----------------------------------------------------------------


def set_non_dumpable() -> None:
    """No process of the same user may ptrace this one or read its memory and file descriptors
    through /proc (the worker holds the channel to the converter; its children run DAG code)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def clear_capabilities() -> None:
    """Give up every capability (the worker of the root flavour holds a few, in its own user
    namespace only); a process may always lower its own."""
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two data structs
    data = (Data * 2)()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.capset(ctypes.byref(header), ctypes.byref(data)) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def readable_by_others(target: str, mode: int) -> bool:
    """`target` has `mode` for "others" and every folder above it is searchable by them."""
    target = os.path.realpath(target)
    try:
        if os.stat(target).st_mode & mode != mode:
            return False
        parent = os.path.dirname(target)
        while parent != os.path.dirname(parent):
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
            parent = os.path.dirname(parent)
    except OSError:
        return False
    return True


def code_folders() -> list[str]:
    """Where this interpreter imports from: the standard library and the installed packages."""
    import sysconfig

    paths = sysconfig.get_paths()
    return sorted(
        {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if os.path.isdir(paths[key])}
    )


_LIBRARIES_READABLE: list[bool] = []  # found once per worker (sysconfig is slow), before it forks


def libraries_readable() -> bool:
    """This interpreter's libraries are readable by others. Asked once per worker process: its
    children inherit the answer (the libraries are read-only binds that no DAG file can change)."""
    if not _LIBRARIES_READABLE:
        _LIBRARIES_READABLE.append(
            all(readable_by_others(f, stat.S_IROTH | stat.S_IXOTH) for f in code_folders())
        )
    return _LIBRARIES_READABLE[0]


def nobody_can_read(path: str, dag_folder: str) -> bool:
    """The DAG file, its folder and this interpreter's libraries are readable by others: the child
    still imports the DAG's modules and Airflow's lazy ones after dropping to `nobody`."""
    return (
        readable_by_others(path, stat.S_IROTH)
        and readable_by_others(dag_folder, stat.S_IROTH | stat.S_IXOTH)
        and libraries_readable()
    )


def become_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)  # also clears every capability (no PR_SET_KEEPCAPS)


def process_count(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                count += os.stat("/proc/" + entry).st_uid == uid
            except OSError:
                continue
    return count


# -- after each file, inside a sandbox of its own PID namespace ---------------------------------


def _state(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read()
    except OSError:
        return "gone"
    return text[text.rfind(b")") + 2 :][:1].decode(errors="replace")


def other_processes() -> list[int]:
    """Every live process of this PID namespace but its init (bubblewrap's, pid 1) and this one."""
    me = str(os.getpid())
    return [
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and entry not in ("1", me) and _state(entry) not in ("Z", "X", "gone")
    ]


def sweep(timeout: float = 2.0) -> bool:
    """Kill every other process in the sandbox (what a DAG file left: daemons, forks, their
    children, whichever session or group they moved to). True when none is left."""
    deadline = time.monotonic() + timeout
    while True:
        others = other_processes()
        if not others:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
        time.sleep(0.001)


def mount_points() -> set[str]:
    """Every mount point this process sees (/proc/self/mountinfo, octal escapes decoded)."""
    import re

    try:
        with open("/proc/self/mountinfo") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return set()
    unescape = re.compile(r"\\([0-7]{3})")
    return {
        unescape.sub(lambda m: chr(int(m.group(1), 8)), line.split()[4])
        for line in lines
        if len(line.split()) > 4
    }


class Scratch:
    """The writable folders of a sandbox as the worker found them, put back after every file.

    Read-only binds may live inside them (a DAG folder under /tmp is bound at its own path): those
    mounts and the folders leading to them are kept, with their modes; everything else goes.
    `restore` says False when it could not put things back (a folder leading to a bind was moved):
    the sandbox is then not fit for another file."""

    def __init__(self, roots: tuple[str, ...] = (*SCRATCH, CWD)) -> None:
        self.roots = tuple(root for root in roots if os.path.isdir(root))
        self.mounts: set[str] = set()
        self.keep: dict[str, int] = {}  # folder -> its mode
        mounts = mount_points()
        for root in self.roots:
            self.keep[root] = stat.S_IMODE(os.lstat(root).st_mode)
            for mount in mounts:
                if mount.startswith(root.rstrip("/") + "/"):
                    self.mounts.add(mount)
                    parent = os.path.dirname(mount)
                    while parent.startswith(root.rstrip("/") + "/"):
                        self.keep[parent] = stat.S_IMODE(os.lstat(parent).st_mode)
                        parent = os.path.dirname(parent)

    def restore(self) -> bool:
        intact = True
        for path, mode in sorted(self.keep.items()):  # parents first: the way in is open again
            try:
                info = os.lstat(path)
                if not stat.S_ISDIR(info.st_mode):
                    intact = False
                elif stat.S_IMODE(info.st_mode) != mode:
                    os.chmod(path, mode)
            except OSError:
                intact = False
        for root in self.roots:
            self._empty(root)
        return intact and all(os.path.ismount(mount) for mount in self.mounts)

    def _empty(self, folder: str) -> None:
        try:
            names = os.listdir(folder)
        except OSError:
            return
        for name in names:
            path = os.path.join(folder, name)
            if path in self.mounts:
                continue
            if path in self.keep:
                self._empty(path)
                continue
            _remove(path, set(self.keep))


def _remove(path: str, keep: set[str]) -> None:
    def retry(function: Any, target: str, _: Any) -> None:  # a file may have made itself unwritable
        try:
            if os.path.dirname(target) not in keep:
                os.chmod(os.path.dirname(target), 0o700)
            if os.path.isdir(target) and not os.path.islink(target):
                os.chmod(target, 0o700)
            function(target)
        except OSError:
            pass

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=retry)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass
