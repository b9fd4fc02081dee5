"""The command in a shell: pipes through real processes, python -m gcp, completion, terminals."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import gcp
from gcp import imageio
from tests.conftest import REAL_IMAGES, ROOT
from tests.test_cli import assert_one_line_error, run

SOURCE = REAL_IMAGES["camera"]  # 512 x 512 grey: quick to encode


def gcp_process(*args, **options) -> subprocess.CompletedProcess:
    """``python -m gcp ARGS`` in a child process, bytes in and out."""
    options.setdefault("capture_output", True)
    return subprocess.run([sys.executable, "-m", "gcp", *map(str, args)], cwd=ROOT,
                          check=False, timeout=120, **options)


@pytest.fixture(scope="module")
def file_form(tmp_path_factory) -> bytes:
    """What ``gcp encode SOURCE OUT -k 8`` writes."""
    out = tmp_path_factory.mktemp("file-form") / "camera.gcp"
    result = run("encode", SOURCE, out, "-k", 8)
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_encode_in_a_pipe_gives_the_file_forms_bytes(file_form):
    piped = gcp_process("encode", "-", "-", "-k", 8, "-v", input=SOURCE.read_bytes())
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == file_form
    # --verbose talks, but only on stderr
    assert b"gcp: fit" in piped.stderr and b"gcp: write" in piped.stderr


def test_encode_then_decode_through_a_shell_pipeline(file_form):
    encoder = subprocess.Popen([sys.executable, "-m", "gcp", "encode", "-", "-", "-k", "8"],
                               cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    decoder = subprocess.Popen([sys.executable, "-m", "gcp", "decode", "-", "-"], cwd=ROOT,
                               stdin=encoder.stdout, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    encoder.stdout.close()  # the decoder holds the only reading end now
    encoder.stdin.write(SOURCE.read_bytes())
    encoder.stdin.close()
    png, errors = decoder.communicate(timeout=120)
    assert encoder.wait(timeout=120) == 0 and decoder.returncode == 0, errors
    assert png[:8] == b"\x89PNG\r\n\x1a\n"  # PNG on stdout by default
    assert np.array_equal(gcp.imageio.decode_image(png), gcp.decode(file_form))


@pytest.mark.parametrize("image_format", ["pgm", "png"])
def test_decoding_into_a_pipe_its_reader_closes_early_fails_quietly(tmp_path, image_format):
    """``gcp decode F - | head -c 10`` with more output than a pipe holds (about 256 KB
    either way): the output is cut short, so the status is 1 (as click ends on a broken
    pipe), with no message and no traceback. A PGM is written in pieces; a PNG in one
    write, which a closing pipe cuts short without an error in Python (a short count,
    which ``files.write_output`` checks)."""
    noise = np.random.default_rng(0).integers(0, 256, (512, 512, 1), dtype=np.uint8)
    gcp_file = tmp_path / "noise.gcp"
    gcp_file.write_bytes(gcp.encode(noise, 256, backend="numpy"))
    decoder = subprocess.Popen([sys.executable, "-m", "gcp", "decode", gcp_file, "-",
                                "--format", image_format], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = decoder.stdout.read(10)
    decoder.stdout.close()
    errors = decoder.stderr.read()
    assert decoder.wait(timeout=120) == 1
    assert first[:2] in (b"P5", b"\x89P") and errors == b"", errors


def test_pipes_through_clirunner(file_form):
    encoded = run("encode", "-", "-", "-k", 8, input=SOURCE.read_bytes())
    assert encoded.exit_code == 0, encoded.stderr
    assert encoded.stdout_bytes == file_form
    decoded = run("decode", "-", "-", "--format", "bmp", input=file_form)
    assert decoded.exit_code == 0, decoded.stderr
    assert decoded.stdout_bytes[:2] == b"BM"
    assert np.array_equal(gcp.imageio.decode_image(decoded.stdout_bytes), gcp.decode(file_form))


def test_bad_data_in_a_pipe_is_one_line_and_no_output():
    piped = gcp_process("decode", "-", "-", input=b"\x89GCP this is not a gcp file")
    assert piped.returncode == 1
    assert piped.stdout == b""
    lines = piped.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gcp: error: "), piped.stderr


def test_python_dash_m_is_the_gcp_command():
    version = gcp_process("--version")
    assert version.returncode == 0 and gcp.__version__ in version.stdout.decode()
    assert gcp_process("encode", "--help").stdout.startswith(b"Usage: gcp encode")
    bad = gcp_process("encode", "-k", "0", "in.png", "out.gcp")
    assert bad.returncode == 2 and bad.stderr.startswith(b"gcp: error: ")


def python_says(code: str, cwd: os.PathLike | str = ROOT, **environment: str) -> str:
    """What ``python -c code`` prints, run in ``cwd`` (the repository unless given) with
    ``environment`` and no OPENBLAS_NUM_THREADS of its own."""
    env = {name: value for name, value in os.environ.items()
           if name != "OPENBLAS_NUM_THREADS"} | environment
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True,
                          capture_output=True, text=True, timeout=120).stdout.strip()


def test_a_colour_decode_to_png_never_imports_opencv(tmp_path):
    """A colour file decodes to a palette PNG (palette_png) without OpenCV, and whether
    .png can be written is answered without it: importing it took 12-15 ms of a decode."""
    image = np.random.default_rng(3).integers(0, 256, (24, 16, 3), dtype=np.uint8)
    (tmp_path / "in.gcp").write_bytes(gcp.encode(image, k=4, seed=0))
    decode = ("import sys, gcp.cli\n"
              "try: gcp.cli.cli.main(['decode', 'in.gcp', 'out.png', '-f'])\n"
              "except SystemExit as end: assert not end.code, end.code\n"
              "print('cv2' in sys.modules)")
    assert python_says(decode, cwd=tmp_path, PYTHONPATH=str(ROOT)) == "False"
    assert np.array_equal(gcp.decode((tmp_path / "in.gcp").read_bytes()),
                          imageio.decode_image((tmp_path / "out.png").read_bytes()))


def test_the_command_asks_openblas_for_one_thread_before_numpy_loads():
    assert python_says("import sys, gcp; print('numpy' in sys.modules)") == "False"
    setting = "import gcp.__main__, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    assert python_says(setting) == "1"
    assert python_says(setting, OPENBLAS_NUM_THREADS="3") == "3"  # the user's choice stays
    # Threads are what the setting is for: the command's process has as many as one told
    # OPENBLAS_NUM_THREADS=1 from outside (fewer than numpy's default on 2 or more cores).
    threads = "import os, {}; print(len(os.listdir('/proc/self/task')))"
    if os.path.isdir("/proc/self/task"):
        assert python_says(threads.format("gcp.__main__")) == python_says(
            threads.format("numpy, gcp.cli"), OPENBLAS_NUM_THREADS="1")


def test_bare_gcp_prints_the_help_on_stderr_and_exits_2():
    bare = gcp_process()
    assert bare.returncode == 2 and bare.stdout == b""
    assert b"Commands:" in bare.stderr and b"encode" in bare.stderr


@pytest.mark.parametrize("shell, marker", [
    ("bash", "complete -o nosort -F _gcp_completion gcp"),
    ("zsh", "#compdef gcp"),
    ("fish", "complete --no-files --command gcp"),
])
def test_shell_completion_scripts(shell, marker):
    script = gcp_process(env={**os.environ, "_GCP_COMPLETE": f"{shell}_source"})
    assert script.returncode == 0, script.stderr
    assert marker in script.stdout.decode()


def test_completion_completes_command_names():
    env = {**os.environ, "_GCP_COMPLETE": "bash_complete", "COMP_WORDS": "gcp enc",
           "COMP_CWORD": "1"}
    completed = gcp_process(env=env)
    assert completed.stdout.decode().split() == ["plain,encode"]


def test_version_through_clirunner():
    assert run("--version").output.strip() == f"gcp, version {gcp.__version__}"


def test_refuses_to_write_binary_data_to_a_terminal(tmp_path):
    pty = pytest.importorskip("pty", reason="no pseudo-terminals on this platform")
    leader, follower = pty.openpty()
    try:
        result = gcp_process("encode", SOURCE, "-", stdout=follower, stderr=subprocess.PIPE,
                             capture_output=False)
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 2
    assert b"terminal" in result.stderr and result.stderr.count(b"\n") == 1


def test_usage_lines_show_both_forms():
    for command, batch_form in (("encode", "INPUT... -o DIR"), ("decode", "INPUT... -o DIR")):
        help_text = run(command, "--help").output
        assert f"Usage: gcp {command} [OPTIONS] INPUT OUTPUT" in help_text
        assert f"   or: gcp {command} [OPTIONS] {batch_form}" in help_text


@pytest.mark.parametrize("args", [
    ["encode", "a.png", "b.png", "c.gcp"],                    # three paths, no -o
    ["encode", "a.png"],                                      # no OUTPUT
    ["encode", "a.png", "a.gcp", "--scheduler", "tcp://h:1"],  # --scheduler is for batches
    ["decode", "a.gcp", "b.gcp", "x.png"],
])
def test_wrong_number_of_paths_is_bad_usage(args):
    assert_one_line_error(run(*args), 2)
