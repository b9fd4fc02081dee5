"""The command line against bad inputs and failing outputs.

Every case: a non-zero exit (1 for bad data or a failed read or write, 2 for bad usage),
one line on stderr, "gcp: error: ...", and no traceback; the folder it ran in is left
exactly as it was (no output, no ``.NAME.*.part`` temporary, the input and any existing
output with the same bytes and modification time).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import gcp
from gcp import files, imageio
from gcp.cli import cli
from tests.conftest import (
    REAL_IMAGES,
    ROOT,
    VECTORS,
    bmp_with_size,
    png_with_size,
    spec_decoder_rules,
)

MANIFEST_INVALID = sorted(path.name for path in VECTORS.glob("invalid-*.gcp"))
RULE_OF_VECTOR = {f"invalid-{vector}.gcp": number
                  for number, _, vectors in spec_decoder_rules() for vector in vectors}
LAST_CONTAINER_RULE = 14  # crc: what read_info checks; the body's rules come after
PALETTE_CODE_RULE = 29  # read_info checks it too: it reads the palette, not the body
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_REASON = "running as root, whom file permissions do not stop; the simulated case runs"


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``, hidden ones included: its bytes and mtime."""
    return {str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def assert_refused(result, status: int, *words: str) -> None:
    assert result.exit_code == status, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gcp: error: "), result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    """A folder holding a PNG, a BMP, a .gcp file and a folder; the tests run inside it."""
    image = np.zeros((6, 5, 3), np.uint8)
    image[::2] = [200, 30, 90]
    (tmp_path / "in.png").write_bytes(imageio.encode_image(image, ".png"))
    (tmp_path / "in.bmp").write_bytes(imageio.encode_image(image, ".bmp"))
    (tmp_path / "in.gcp").write_bytes(gcp.encode(image, k=2, backend="numpy"))
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused_leaving_all_as_it_was(folder: Path, status: int, *args, words=(), input=None):
    before = snapshot(folder)
    result = run(*args, input=input)
    assert_refused(result, status, *words)
    assert snapshot(folder) == before
    return result


# Bad inputs to encode -----------------------------------------------------------------

BAD_IMAGES = {
    "empty": (b"", "is empty"),
    "text": (b"this is not a picture\n", "bad.img"),
    "truncated-png": (REAL_IMAGES["astronaut"].read_bytes()[:3000], "bad.img"),
    "truncated-png-header": (REAL_IMAGES["astronaut"].read_bytes()[:20], "bad.img"),
    "truncated-bmp": (REAL_IMAGES["coffee"].read_bytes()[:5000], "bad.img"),
    "truncated-bmp-header": (REAL_IMAGES["coffee"].read_bytes()[:30], "bad.img"),
    "png-0-wide": (png_with_size(0, 7), "0x7"),
    "png-0-high": (png_with_size(7, 0), "7x0"),
    "bmp-0-wide": (bmp_with_size(0, 7), "0x7"),
    "bmp-0-high": (bmp_with_size(7, 0), "7x0"),
    "png-over-the-limit": (png_with_size(70000, 70000), "over the limit"),
    "bmp-over-the-limit": (bmp_with_size(-70000, -70000), "over the limit"),
    "gcp-given-to-encode": ((VECTORS / "rle-example.gcp").read_bytes(), "bad.img"),
}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_encode_refuses_a_bad_image(folder, name):
    data, words = BAD_IMAGES[name]
    (folder / "bad.img").write_bytes(data)
    refused_leaving_all_as_it_was(folder, 1, "encode", "bad.img", "out.gcp", words=[words])


def test_encode_refuses_an_image_over_max_pixels(folder):
    refused_leaving_all_as_it_was(folder, 1, "encode", "in.png", "out.gcp", "--max-pixels",
                                  29, words=["5x6 = 30 pixels", "29"])


@pytest.mark.parametrize("args", [
    ["-k", "0"], ["-k", "257"], ["-k", "-3"], ["-k", "many"], ["--max-pixels", "0"],
    ["--effort", "0"], ["--method", "gzip"],
])
def test_encode_refuses_options_out_of_range(folder, args):
    refused_leaving_all_as_it_was(folder, 2, "encode", "in.png", "out.gcp", *args)


@pytest.mark.parametrize(("args", "status", "words"), [
    (["encode", "missing.png", "out.gcp"], 1, ["missing.png"]),
    (["encode", "sub", "out.gcp"], 2, ["sub", "directory"]),
    (["encode", "in.png", "sub"], 2, ["sub", "directory"]),
    (["encode", "in.png", "nowhere/out.gcp"], 1, ["nowhere"]),
    (["encode", "in.png", "nowhere/"], 1, ["nowhere/", "folder"]),
    (["encode", "in.png", "in.png", "--force"], 2, ["input"]),
    (["encode", "in.png", "in.png"], 2, ["input"]),
    (["encode", "in.png", "in.bmp"], 2, ["--force"]),
    (["decode", "missing.gcp", "out.png"], 1, ["missing.gcp"]),
    (["decode", "sub", "out.png"], 2, ["sub", "directory"]),
    (["decode", "in.gcp", "sub"], 2, ["sub", "directory"]),
    (["decode", "in.gcp", "nowhere/out.png"], 1, ["nowhere"]),
    (["decode", "in.gcp", "in.gcp", "--format", "png", "--force"], 2, ["input"]),
    (["decode", "in.gcp", "in.png"], 2, ["--force"]),
    (["info", "missing.gcp"], 1, ["missing.gcp"]),
    (["info", "sub"], 2, ["sub", "directory"]),
], ids=lambda value: "-".join(value) if isinstance(value, list) else str(value))
def test_bad_paths_are_refused(folder, args, status, words):
    refused_leaving_all_as_it_was(folder, status, *args, words=words)


def test_output_that_is_the_input_by_another_name_is_refused(folder):
    os.symlink("in.png", folder / "link.png")
    os.link(folder / "in.png", folder / "hard.png")
    for name in ("link.png", "hard.png"):
        refused_leaving_all_as_it_was(folder, 2, "encode", "in.png", name, "--force",
                                      words=["input"])


def test_a_pipe_is_never_replaced_by_a_file(folder):
    """--force replaced a device or pipe with a plain file (/dev/full, as root)."""
    os.mkfifo(folder / "pipe")
    os.symlink("pipe", folder / "link-to-pipe.gcp")
    for name in ("pipe", "link-to-pipe.gcp"):
        refused_leaving_all_as_it_was(folder, 2, "encode", "in.png", name, "--force",
                                      words=[name, "pipe"])
        assert stat.S_ISFIFO(os.stat(folder / name).st_mode)


def test_a_link_is_written_through(folder):
    """--force on a symbolic link replaces the file it leads to; the link stays."""
    os.symlink("in.gcp", folder / "link.gcp")
    assert gcp.read_info((folder / "in.gcp").read_bytes()).palette_size == 2
    assert run("encode", "in.bmp", "link.gcp", "-k", 1, "--force").exit_code == 0
    assert os.readlink(folder / "link.gcp") == "in.gcp"
    assert gcp.read_info((folder / "in.gcp").read_bytes()).palette_size == 1
    assert not any(name.endswith(".part") for name in os.listdir(folder))


def test_unreadable_input_simulated(folder, monkeypatch):
    def denied(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(files, "open", denied, raising=False)
    refused_leaving_all_as_it_was(folder, 1, "encode", "in.png", "out.gcp",
                                  words=["in.png", "Permission denied"])
    refused_leaving_all_as_it_was(folder, 1, "decode", "in.gcp", "out.png",
                                  words=["in.gcp", "Permission denied"])


@pytest.mark.skipif(AS_ROOT, reason=ROOT_REASON)
def test_unreadable_input_for_real(folder):
    os.chmod(folder / "in.png", 0)
    try:
        refused_leaving_all_as_it_was(folder, 1, "encode", "in.png", "out.gcp",
                                      words=["in.png"])
    finally:
        os.chmod(folder / "in.png", 0o644)


# Outputs that cannot be written -------------------------------------------------------

def no_writing_in(folder: Path, monkeypatch) -> None:
    """Make creating files in ``folder`` fail as a read-only folder does (EACCES)."""
    real_mkstemp = files.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if Path(dir).resolve() == folder.resolve():
            raise PermissionError(errno.EACCES, "Permission denied",
                                  os.path.join(dir, ".x.part"))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(files.tempfile, "mkstemp", mkstemp)


@pytest.mark.parametrize("force", [False, True])
def test_read_only_output_folder_simulated(folder, monkeypatch, force):
    no_writing_in(folder / "sub", monkeypatch)
    (folder / "sub" / "old.png").write_bytes(b"precious")
    options = ["--force"] if force else []
    for args in (["encode", "in.png", "sub/out.gcp"], ["decode", "in.gcp", "sub/out.png"],
                 ["decode", "in.gcp", "sub/old.png"]):
        if args[-1].endswith("old.png") and not force:
            continue
        refused_leaving_all_as_it_was(folder, 1, *args, *options,
                                      words=[args[-1], "Permission denied"])


@contextlib.contextmanager
def read_only(path: Path):
    """``path`` made unwritable for real: mode 555, or for root (whom modes do not stop)
    the immutable attribute, which stops root too."""
    if AS_ROOT:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: nothing stops root writing")
        locked = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if locked.returncode:
            pytest.skip(f"running as root on a file system without chattr +i: "
                        f"{locked.stderr.decode().strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        os.chmod(path, 0o555)
        try:
            yield
        finally:
            os.chmod(path, 0o755)


def test_read_only_output_folder_for_real(folder):
    with read_only(folder / "sub"):
        refused_leaving_all_as_it_was(folder, 1, "encode", "in.png", "sub/out.gcp",
                                      words=["sub/out.gcp"])


class _DiskFillsUp(io.FileIO):
    """A file that takes 10 bytes and then fails as a full disk does."""

    def write(self, data):
        if self.tell() >= 10:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(bytes(data)[:10])


def full_disk(monkeypatch) -> None:
    def fdopen(descriptor, mode="r", *args, **kwargs):
        return io.BufferedWriter(_DiskFillsUp(descriptor, "wb"))

    monkeypatch.setattr(files.os, "fdopen", fdopen)


def failing_fsync(monkeypatch) -> None:
    """Delayed allocation: the write is taken, and the disk is found full at fsync."""
    def fsync(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", fsync)


@pytest.mark.parametrize("failure", [full_disk, failing_fsync], ids=["write", "fsync"])
@pytest.mark.parametrize("args", [
    ["encode", "in.png", "out.gcp"], ["encode", "in.png", "in.gcp", "--force"],
    ["decode", "in.gcp", "out.png"], ["decode", "in.gcp", "in.bmp", "--force"],
    ["decode", "in.gcp", "out.ppm"],
], ids=["encode", "encode-over-existing", "decode", "decode-over-existing", "decode-pieces"])
def test_full_disk_leaves_nothing_behind(folder, monkeypatch, failure, args):
    failure(monkeypatch)
    refused_leaving_all_as_it_was(folder, 1, *args,
                                  words=[args[2], "No space left on device"])


# Corrupt .gcp files to decode and info ------------------------------------------------

@pytest.mark.parametrize("name", MANIFEST_INVALID)
def test_decode_and_info_refuse_every_invalid_vector(folder, name):
    """decode refuses them all; info, which reads the body no further than its CRC, the
    ones that break the rules up to the CRC's (1 to 14) and the coded palette's (29)."""
    (folder / "bad.gcp").write_bytes((VECTORS / name).read_bytes())
    (folder / "old.png").write_bytes(b"precious")
    refused_leaving_all_as_it_was(folder, 1, "decode", "bad.gcp", "out.png")
    refused_leaving_all_as_it_was(folder, 1, "decode", "bad.gcp", "old.png", "--force")
    if RULE_OF_VECTOR[name] <= LAST_CONTAINER_RULE or RULE_OF_VECTOR[name] == PALETTE_CODE_RULE:
        refused_leaving_all_as_it_was(folder, 1, "info", "bad.gcp")
        refused_leaving_all_as_it_was(folder, 1, "info", "bad.gcp", "--json")
    else:
        assert run("info", "bad.gcp").exit_code == 0


@pytest.mark.parametrize("cut", [1, 37, 38, 50, -5, -1])
def test_decode_refuses_truncated_files(folder, cut):
    data = (folder / "in.gcp").read_bytes()
    (folder / "cut.gcp").write_bytes(data[:cut])
    refused_leaving_all_as_it_was(folder, 1, "decode", "cut.gcp", "out.png")


def test_decode_refuses_an_image_given_as_gcp(folder):
    refused_leaving_all_as_it_was(folder, 1, "decode", "in.png", "out.bmp",
                                  words=["signature"])


def test_decode_refuses_an_image_over_max_pixels(folder):
    refused_leaving_all_as_it_was(folder, 1, "decode", "in.gcp", "out.png", "--max-pixels",
                                  29, words=["over the limit"])


class _Endless(io.RawIOBase):
    """A stream that never ends: ``head`` and then zeros; counts what was read.

    Past ``GIVE_UP`` bytes it raises AssertionError, which the command does not catch:
    a reader that would read forever fails the test instead of filling the memory.
    """

    GIVE_UP = 64 << 20

    def __init__(self, head: bytes = b"") -> None:
        self.head, self.taken = head, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        assert self.taken < self.GIVE_UP, f"read {self.taken} bytes of an endless stream"
        size = len(buffer)
        chunk = self.head[self.taken:self.taken + size]
        chunk += bytes(size - len(chunk))
        buffer[:size] = chunk
        self.taken += size
        return size


ENDLESS_IMAGES = {  # what the stream starts with: the reason it is refused, bytes read
    "nothing": ("signature", imageio.FILE_START_SIZE),
    "a PNG declaring 10^6 pixels": ("pixels", imageio.FILE_START_SIZE),
    "a PNG of 30 pixels": ("bytes", imageio.max_file_size(100)),
}


@pytest.mark.parametrize("head", ENDLESS_IMAGES)
def test_endless_image_input_is_refused_after_its_first_bytes(folder, head):
    """/dev/zero as an image, or a header declaring too many pixels: refused from the
    first bytes; a small image running on: refused once it is longer than any image
    within --max-pixels could be."""
    data = {"nothing": b"", "a PNG declaring 10^6 pixels": png_with_size(1000, 1000),
            "a PNG of 30 pixels": (folder / "in.png").read_bytes()}[head]
    word, most_read = ENDLESS_IMAGES[head]
    for command in (["encode", "-", "out.gcp"], ["compare", "-", "in.gcp"]):
        stream = _Endless(data)
        refused_leaving_all_as_it_was(folder, 1, *command, "--max-pixels", "100",
                                      input=io.BufferedReader(stream), words=[word])
        assert stream.taken <= most_read + (1 << 20)


@pytest.mark.parametrize("head", ["nothing", "a valid file"])
def test_endless_input_is_refused_after_its_header(folder, head):
    """/dev/zero, or a valid file running on: refused having read no more than it holds."""
    data = (folder / "in.gcp").read_bytes() if head == "a valid file" else b""
    for command in (["decode", "-", "out.png"], ["info", "-"]):
        stream = _Endless(data)
        refused_leaving_all_as_it_was(folder, 1, *command, input=io.BufferedReader(stream))
        assert stream.taken < len(data) + (1 << 20)


# Messages from C libraries ------------------------------------------------------------

def run_process(args, cwd, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gcp", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          **options)


@pytest.mark.parametrize(("args", "closed"), [
    (["decode", "in.gcp", "-"], 1), (["encode", "in.png", "-"], 1), (["info", "-"], 0),
    (["encode", "-", "out.gcp"], 0),
], ids=["decode-to-closed-stdout", "encode-to-closed-stdout", "info-from-closed-stdin",
        "encode-from-closed-stdin"])
def test_closed_standard_streams(folder, args, closed):
    """A process started with descriptor 0 or 1 closed has sys.stdin or sys.stdout None."""
    before = snapshot(folder)
    completed = run_process(args, folder, stdin=subprocess.DEVNULL if closed else None,
                            preexec_fn=lambda: os.close(closed))
    assert completed.returncode == 1
    assert completed.stderr == f"gcp: error: -: standard {('in', 'out')[closed]}put is closed\n"
    assert snapshot(folder) == before


@pytest.mark.parametrize("damage", ["zero width", "bad IDAT CRC"])
def test_libpng_prints_nothing_of_its_own(tmp_path, damage):
    """In a real process: libpng writes its warnings to file descriptor 2 itself, which
    CliRunner cannot see; stderr must still be the one line."""
    if damage == "zero width":
        data = png_with_size(0, 4)
    else:
        data = bytearray(REAL_IMAGES["logo"].read_bytes())
        data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.png").write_bytes(data)
    completed = run_process(["encode", "bad.png", "out.gcp"], tmp_path)
    assert completed.returncode == 1
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith("gcp: error: ")
    assert sorted(os.listdir(tmp_path)) == ["bad.png"]


# What a hostile user's review of the command line found (2026-11-28): negative seeds,
# outputs over compare's and --palette's inputs, palettes from pipes, bombs in formats
# whose headers were not read, junk after a PNG signature, names at the file system's
# limit, and a warning before a refusal.


def test_a_negative_seed_is_a_usage_error(folder):
    before = snapshot(folder)
    assert_refused(run("encode", "in.png", "out.gcp", "--seed", "-1"), 2, "--seed")
    assert snapshot(folder) == before
    with pytest.raises(gcp.ParameterError, match="seed"):
        gcp.encode(np.zeros((2, 2, 3), np.uint8), k=2, seed=-1, backend="numpy")


def test_a_huge_seed_is_taken(folder):
    assert run("encode", "in.png", "out.gcp", "--seed", str(10**30),
               "--backend", "numpy").exit_code == 0


@pytest.mark.parametrize("target", ["in.png", "link.png"])
def test_compare_never_writes_its_picture_over_an_input(folder, target):
    (folder / "link.png").symlink_to(folder / "in.png")
    before = snapshot(folder)
    assert_refused(run("compare", "in.png", "in.gcp", "-o", target, "-f"), 2,
                   "is the input file")
    assert snapshot(folder) == before


def test_a_gcp_file_named_as_an_image_is_still_comparisons_input(folder):
    (folder / "g.png").write_bytes((folder / "in.gcp").read_bytes())
    before = snapshot(folder)
    assert_refused(run("compare", "in.png", "g.png", "-o", "g.png", "-f"), 2,
                   "is the input file")
    assert snapshot(folder) == before


def test_the_palette_file_is_an_input_that_force_does_not_replace(folder):
    before = snapshot(folder)
    assert_refused(run("encode", "in.png", "in.gcp", "--palette", "in.gcp", "-f",
                       "--backend", "numpy"), 2, "in.gcp is the input file")
    assert_refused(run("encode", "in.png", "-o", ".", "--palette", "in.gcp", "-f",
                       "--backend", "numpy"), 2, "is the input file")
    assert snapshot(folder) == before


def test_a_palette_is_read_once_so_standard_input_and_pipes_will_do(folder):
    palette = b"GIMP Palette\n1 2 3\n250 250 250\n"
    result = run("encode", "in.png", "out.gcp", "--palette", "-", "--backend", "numpy",
                 input=palette)
    assert result.exit_code == 0, result.output
    assert len(gcp.read_info((folder / "out.gcp").read_bytes()).palette) == 2
    os.mkfifo(folder / "fifo")
    writer = os.fork()
    if writer == 0:  # the other end of the pipe, as a shell's (printf ... > fifo &) is
        with open(folder / "fifo", "wb") as pipe:
            pipe.write(palette)
        os._exit(0)
    try:
        result = run("encode", "in.png", "piped.gcp", "--palette", "fifo", "--backend",
                     "numpy")
    finally:
        os.waitpid(writer, 0)
    assert result.exit_code == 0, result.output


def test_standard_input_cannot_be_both_the_image_and_the_palette(folder):
    assert_refused(run("encode", "-", "out.gcp", "--palette", "-",
                       input=(folder / "in.png").read_bytes()), 2, "--palette")


def _netpbm(magic: bytes, width: int, height: int) -> bytes:
    return magic + b"\n# a comment\n%d %d\n255\n" % (width, height) + bytes(64)


@pytest.mark.parametrize("name, data", [
    ("bomb.hdr", b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 60000 +X 50000\n" + bytes(64)),
    ("bomb.ppm", _netpbm(b"P6", 50000, 60000)),
    ("bomb.pgm", _netpbm(b"P5", 50000, 60000)),
    ("bomb.pfm", b"PF\n50000 60000\n-1.0\n" + bytes(64)),
    ("bomb.pam", b"P7\nWIDTH 50000\nHEIGHT 60000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\n"
                 b"ENDHDR\n" + bytes(64)),
    ("bomb.ras", b"\x59\xa6\x6a\x95" + struct.pack(">7I", 50000, 60000, 24, 0, 1, 0, 0)
     + bytes(64)),
])
def test_other_formats_declaring_too_many_pixels_are_refused_from_their_headers(
        folder, name, data):
    (folder / name).write_bytes(data)
    assert imageio.declared_size(data) == (50000, 60000)
    before = snapshot(folder)
    started = time.perf_counter()
    assert_refused(run("encode", name, "out.gcp", "--max-pixels", "100"), 1,
                   "50000x60000", "over the limit")
    assert time.perf_counter() - started < 5  # from the header, not by decoding
    assert snapshot(folder) == before


@pytest.mark.parametrize("ext", [".ppm", ".pgm", ".pam", ".ras"])
def test_the_header_readers_give_the_size_of_real_files(ext):
    image = np.arange(7 * 5 * 3, dtype=np.uint8).reshape(7, 5, 3)
    if ext == ".pgm":
        image = image[:, :, :1]
    data = imageio.encode_image(image, ext)
    assert imageio.declared_size(data) == (5, 7)
    assert imageio.decode_image(data).shape[:2] == (7, 5)


def test_a_pam_size_is_read_from_its_header_alone():
    header = b"P7\nWIDTH 5\nHEIGHT 7\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n"
    assert imageio.declared_size(header + b"\nWIDTH 99999\nHEIGHT 99999\n") == (5, 7)


def test_junk_after_a_png_signature_is_refused_at_its_first_chunk(folder):
    good = (folder / "in.png").read_bytes()
    (folder / "junk.png").write_bytes(good[:33] + bytes(20_000_000))
    started = time.perf_counter()
    assert_refused(run("encode", "junk.png", "out.gcp"), 1, "byte 33", "not four letters")
    assert time.perf_counter() - started < 5


def test_an_output_named_at_the_file_system_limit_is_written(folder):
    name = "x" * 250 + ".gcp"  # 254 bytes: the temporary file beside it may not take it
    result = run("encode", "in.png", name, "--backend", "numpy")
    assert result.exit_code == 0, result.output
    assert gcp.read_info((folder / name).read_bytes()).width == 5
    assert sorted(path.name for path in Path(folder).iterdir()
                  if path.name.endswith(".part")) == []


def test_a_colour_image_to_pgm_is_one_line_without_the_alpha_warning(folder):
    image = np.zeros((4, 4, 4), np.uint8)
    image[..., 1] = 200
    image[..., 3] = np.arange(4) * 60
    (folder / "rgba.gcp").write_bytes(gcp.encode(image, k=4, backend="numpy"))
    before = snapshot(folder)
    assert_refused(run("decode", "rgba.gcp", "out.pgm"), 1, "grey only")
    assert snapshot(folder) == before
