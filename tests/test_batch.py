"""Many files at once: gcp encode/decode INPUT... -o DIR, local workers and Dask."""

from __future__ import annotations

import functools
import os
import pickle
import select
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import gcp
from gcp import batch
from tests.conftest import ROOT
from tests.test_cli import assert_one_line_error, run


def small_image(seed: int, size: int = 8) -> np.ndarray:
    """A different little RGB picture for each seed."""
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), np.uint8)


def write_images(folder, count: int, extension: str = ".png") -> list:
    folder.mkdir(exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"img{index:03d}{extension}"
        path.write_bytes(gcp.imageio.encode_image(small_image(index), extension))
        paths.append(path)
    return paths


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("gcp: error: ")]


def test_200_files_with_3_corrupt_write_197_and_report_3(tmp_path):
    sources = write_images(tmp_path / "in", 200)
    corrupt = {sources[7]: b"", sources[100]: b"not an image at all",
               sources[163]: sources[163].read_bytes()[:30]}  # empty, junk, truncated
    for path, data in corrupt.items():
        path.write_bytes(data)
    out = tmp_path / "out"
    result = run("encode", *sources, "-o", out, "-k", 4, "-j", 2)
    assert result.exit_code == 1, result.stderr
    written = sorted(os.listdir(out))
    assert written == sorted(f"{p.stem}.gcp" for p in sources if p not in corrupt)
    assert len(written) == 197
    # one line per failure, in the order of the inputs, then the count; nothing else
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ")[2] for line in lines[:3]] == [str(p) for p in corrupt]
    assert all(line.count(str(path)) == 1 for line, path in zip(lines, corrupt, strict=False))
    assert lines[3] == f"gcp: 3 of 200 files failed; 197 encoded into {out}"
    assert len(lines) == 4 and result.stdout == ""
    for index in (0, 99, 199):  # the outputs are what the library gives
        expected = gcp.encode(small_image(index), 4)
        assert (out / f"img{index:03d}.gcp").read_bytes() == expected


def test_one_and_two_workers_write_the_same_bytes_as_the_single_form(tmp_path):
    sources = write_images(tmp_path / "in", 6, ".bmp")
    for workers in (1, 2):
        result = run("encode", *sources, "-o", tmp_path / f"j{workers}", "-j", workers)
        assert result.exit_code == 0, result.stderr
    for source in sources:
        single = tmp_path / f"{source.stem}.gcp"
        assert run("encode", source, single).exit_code == 0
        assert (tmp_path / "j1" / single.name).read_bytes() == single.read_bytes()
        assert (tmp_path / "j2" / single.name).read_bytes() == single.read_bytes()


def test_a_worker_that_dies_fails_its_files_and_the_batch_goes_on(tmp_path):
    """A worker process killed mid-batch (the system's out-of-memory killer, say) breaks
    the pool: every file it held ends as a one-line failure, not a traceback."""
    import functools

    sources = write_images(tmp_path / "in", 3)
    jobs = batch.plan_jobs([str(path) for path in sources], str(tmp_path / "out"), ".gcp")
    os.mkdir(tmp_path / "out")
    transform = functools.partial(batch.encode_file_bytes, k=4)
    outcomes = list(batch.run_local(jobs, transform, workers=2,
                                    worker_setup=functools.partial(os._exit, 9)))
    assert len(outcomes) == 3
    assert all(outcome.error == "a worker process died (out of memory?)" for outcome in outcomes)
    assert not list((tmp_path / "out").iterdir())


def quick_or_slow(data: bytes, name: str) -> bytes:
    """A transform for a batch's workers: at once for b"quick", else after a minute."""
    if data != b"quick":
        time.sleep(60)
    return data


def test_a_stopped_batch_stops_its_workers_and_writes_nothing_more(tmp_path):
    """Ctrl-C (or a caller that stops asking) stops the running jobs and the ones already
    passed to a worker, not after them: a batch took 9 s to stop, and wrote a file it had
    not started. Nothing is left half-written."""
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    sources = [tmp_path / "in" / f"{i}.png" for i in range(4)]
    for i, source in enumerate(sources):
        source.write_bytes(b"quick" if i == 0 else b"slow")
    jobs = batch.plan_jobs([str(path) for path in sources], str(tmp_path / "out"), ".gcp")
    outcomes = batch.run_local(jobs, quick_or_slow, workers=2)
    first = next(outcomes)
    assert first.job.source == str(sources[0]) and first.error is None
    outcomes.close()  # as an interrupt does: the slow jobs must not finish
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["0.gcp"]


def test_existing_outputs_fail_per_file_unless_forced(tmp_path):
    sources = write_images(tmp_path / "in", 3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "img001.gcp").write_bytes(b"precious")
    result = run("encode", *sources, "-o", out, "-j", 1)
    assert result.exit_code == 1
    [line] = error_lines(result.stderr)
    assert line.startswith(f"gcp: error: {sources[1]}: ") and "--force" in line
    assert (out / "img001.gcp").read_bytes() == b"precious"
    assert sorted(os.listdir(out)) == ["img000.gcp", "img001.gcp", "img002.gcp"]
    forced = run("encode", *sources, "-o", out, "-j", 1, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert gcp.read_info((out / "img001.gcp").read_bytes()).width == 8


def test_outputs_sharing_a_name_are_bad_usage_before_any_work(tmp_path):
    png, bmp = tmp_path / "a.png", tmp_path / "a.bmp"
    for path in (png, bmp):
        path.write_bytes(gcp.imageio.encode_image(small_image(0), path.suffix))
    result = run("encode", png, bmp, "-o", tmp_path / "out")
    assert_one_line_error(result, 2)
    assert "a.png and" in result.stderr and "a.gcp" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [
    ["encode", "-", "-o", "out"],                      # stdin is not a batch input
    ["decode", "a.gcp", "-o", "out", "--format", "xyz"],
    ["encode", "a.png", "-o", "out", "-j", "0"],
])
def test_bad_batch_usage_exits_2(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run(*args), 2)
    assert not (tmp_path / "out").exists()


def test_decode_batch_with_format_and_a_corrupt_file(tmp_path):
    encoded = []
    for index in range(3):
        path = tmp_path / f"pic{index}.gcp"
        path.write_bytes(gcp.encode(small_image(index), 8))
        encoded.append(path)
    broken = bytearray(encoded[2].read_bytes())
    broken[-1] ^= 0xFF
    encoded[2].write_bytes(bytes(broken))
    out = tmp_path / "images"
    result = run("decode", *encoded, "-o", out, "--format", "bmp", "-j", 2)
    assert result.exit_code == 1
    [line] = error_lines(result.stderr)
    assert line.startswith(f"gcp: error: {encoded[2]}: ") and "crc" in line
    assert sorted(os.listdir(out)) == ["pic0.bmp", "pic1.bmp"]
    for index in range(2):
        data = (out / f"pic{index}.bmp").read_bytes()
        assert data[:2] == b"BM"
        expected = gcp.decode(encoded[index].read_bytes())
        assert np.array_equal(gcp.imageio.decode_image(data), expected)


def test_decode_batch_writes_png_by_default_and_says_so(tmp_path):
    path = tmp_path / "one.gcp"
    path.write_bytes(gcp.encode(small_image(5), 4))
    result = run("decode", path, "-o", tmp_path / "png")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "png" / "one.png").read_bytes()[:4] == b"\x89PNG"
    assert "1 file decoded into" in result.stderr
    assert run("decode", path, "-o", tmp_path / "q", "-q").stderr == ""


def test_plan_jobs_names_outputs_after_inputs():
    jobs = batch.plan_jobs(["x/a.png", "y/b.tar.png"], "out", ".gcp")
    assert [job.target for job in jobs] == [os.path.join("out", "a.gcp"),
                                            os.path.join("out", "b.tar.gcp")]
    with pytest.raises(batch.NameClashError, match=r"same\.png and"):
        batch.plan_jobs(["same.png", "same.png"], "out", ".gcp")


def test_describe_error_does_not_repeat_the_file_name():
    missing = FileNotFoundError(2, "No such file or directory", "a.png")
    assert batch.describe_error(missing, "a.png") == "No such file or directory"
    assert batch.describe_error(missing, "b.png") == "a.png: No such file or directory"
    assert batch.describe_error(KeyError("x"), "a.png") == "unexpected KeyError: 'x'"


def test_progress_bar_only_on_a_terminal(tmp_path):
    pty = pytest.importorskip("pty", reason="no pseudo-terminals on this platform")
    sources = write_images(tmp_path / "in", 4)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "gcp", "encode", *map(str, sources), "-o", str(tmp_path / "out"),
         "-j", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    while True:  # read the terminal until the process closes it
        ready, _, _ = select.select([leader], [], [], 60)
        try:
            chunk = os.read(leader, 4096) if ready else b""
        except OSError:  # EIO: the other end is gone
            chunk = b""
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0
    assert process.stdout.read() == b""
    assert b"encoding" in shown and b"100%" in shown
    # and not when stderr is a file or a pipe
    piped = run("encode", *sources, "-o", tmp_path / "again", "-j", 1)
    assert piped.exit_code == 0 and "encoding" not in piped.stderr and "%" not in piped.stderr


# Dask ------------------------------------------------------------------------------


def test_scheduler_without_dask_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    sources = write_images(tmp_path / "in", 2)
    result = run("encode", *sources, "-o", tmp_path / "out", "--scheduler", "tcp://h:8786")
    assert_one_line_error(result, 2)
    assert "dask" in result.stderr and "pip install" in result.stderr


@pytest.fixture(scope="module")
def dask_scheduler():
    """A small in-process Dask cluster reached over TCP, as a remote one would be."""
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed: pip install 'gcp[dask]'")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp", dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_dask_batch_writes_what_local_workers_write(tmp_path, dask_scheduler):
    sources = write_images(tmp_path / "in", 9)  # more than the tasks kept in flight (4)
    sources[4].write_bytes(b"junk")
    on_dask = run("encode", *sources, "-o", tmp_path / "dask", "--scheduler", dask_scheduler,
                  "-k", 8)
    local = run("encode", *sources, "-o", tmp_path / "local", "-j", 1, "-k", 8)
    assert on_dask.exit_code == local.exit_code == 1
    assert error_lines(on_dask.stderr) == error_lines(local.stderr)
    assert len(error_lines(on_dask.stderr)) == 1 and str(sources[4]) in on_dask.stderr
    assert "Traceback" not in on_dask.stderr
    names = sorted(os.listdir(tmp_path / "local"))
    assert sorted(os.listdir(tmp_path / "dask")) == names and len(names) == 8
    for name in names:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def reversed_bytes(data: bytes, name: str) -> bytes:
    """A stand-in transform that shows what the workers were given."""
    assert isinstance(data, bytes) and name == "file"
    return data[::-1]


def test_dask_workers_get_bytes_and_the_client_writes(tmp_path, dask_scheduler):
    jobs = []
    for index in range(6):
        source = tmp_path / f"s{index}.bin"
        source.write_bytes(bytes([index]) * 3 + b"end")
        jobs.append(batch.Job(str(source), str(tmp_path / f"t{index}.out")))
    jobs.append(batch.Job(str(tmp_path / "missing.bin"), str(tmp_path / "missing.out")))
    with batch.connect_dask(dask_scheduler) as client:
        outcomes = list(batch.run_dask(jobs, reversed_bytes, client=client))
    failed = {outcome.job.source: outcome.error for outcome in outcomes if not outcome.ok}
    assert failed == {str(tmp_path / "missing.bin"): "No such file or directory"}
    for job in jobs[:-1]:
        with open(job.source, "rb") as source, open(job.target, "rb") as target:
            assert target.read() == source.read()[::-1]


def test_unreachable_scheduler_is_a_one_line_error(tmp_path, dask_scheduler):
    import dask

    sources = write_images(tmp_path / "in", 1)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = run("encode", *sources, "-o", tmp_path / "out",
                     "--scheduler", f"tcp://127.0.0.1:{port}")
    assert_one_line_error(result, 1)
    assert "cannot reach the Dask scheduler" in result.stderr
    assert not (tmp_path / "out").exists()
    assert_one_line_error(run("encode", *sources, "-o", tmp_path / "out", "--scheduler",
                              "nonsense"), 2)


def test_dask_batch_takes_a_palette_and_skips_what_is_not_smaller(tmp_path, dask_scheduler):
    folder = tmp_path / "in"
    folder.mkdir()
    palette = np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8)
    palette_file = tmp_path / "p.gpl"
    palette_file.write_bytes(gcp.palettes.write_gpl(palette))
    sources = []
    for index, size in enumerate((8, 8, 1)):  # 1 x 1: its 12-byte PPM is smaller than a .gcp
        extension = ".png" if size > 1 else ".ppm"
        sources.append(folder / f"img{index}{extension}")
        sources[-1].write_bytes(gcp.imageio.encode_image(small_image(index, size), extension))
    out = tmp_path / "out"
    result = run("encode", *sources, "-o", out, "--scheduler", dask_scheduler,
                 "--palette", palette_file, "--skip-if-larger")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (f"gcp: 2 files encoded into {out}, 1 skipped (not smaller "
                             "than their input)\n")
    assert sorted(os.listdir(out)) == ["img0.gcp", "img1.gcp"]
    for index in (0, 1):
        expected = gcp.encode(small_image(index), palette=palette)
        assert (out / f"img{index}.gcp").read_bytes() == expected


@pytest.mark.parametrize(("channels", "extension"), [(1, ".pgm"), (1, ".pnm"), (3, ".ppm"),
                                                     (3, ".pnm"), (1, ".ppm"), (4, ".ppm"),
                                                     (3, ".bmp")])
def test_decoding_to_netpbm_after_its_header_writes_what_the_image_path_writes(channels,
                                                                              extension):
    """PPM and PGM pixels are looked up after the header as they are written; the bytes
    are those of encoding the decoded image, and the cases the format cannot hold as they
    are (grey to .ppm, alpha) take the image path."""
    rng = np.random.default_rng(channels)
    image = rng.integers(0, 256, (23, 17, channels), dtype=np.uint8)
    image[:, 5:] = image[:1, 5:]
    data = gcp.encode(image, 7, backend="numpy")
    written = batch.decode_file_bytes(data, extension=extension)
    assert bytes(written) == gcp.imageio.encode_image(gcp.decode(data), extension)
    after_header = gcp.codec.decode_after(data, lambda header: gcp.imageio.netpbm_header(
        extension, header.height, header.width, header.channels))
    assert (after_header is not None) == ((extension, channels) in
                                      {(".pgm", 1), (".pnm", 1), (".ppm", 3), (".pnm", 3)})


def test_netpbm_is_made_in_pieces_of_whole_rows(monkeypatch):
    """Pieces of about PIECE_BYTES in whole rows, the header first; their length, their
    bytes joined and pickled (as a Dask worker sends them) are the file's; a worker joins
    them before sending."""
    monkeypatch.setattr(gcp.codec, "PIECE_BYTES", 100)
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (23, 17, 3), dtype=np.uint8)
    data = gcp.encode(image, 7, backend="numpy")
    expected = gcp.imageio.encode_image(gcp.decode(data), ".ppm")
    made = batch.decode_file_bytes(data, extension=".ppm")
    assert isinstance(made, gcp.codec.Pieces) and len(made) == len(expected)
    pieces = [bytes(piece) for piece in made]
    header = gcp.imageio.netpbm_header(".ppm", 23, 17, 3)
    assert pieces[0] == header and b"".join(pieces) == expected
    assert [len(piece) for piece in pieces[1:]] == [17 * 3] * 23  # 100 bytes: one row each
    assert bytes(made) == expected and pickle.loads(pickle.dumps(made)) == expected
    joined = batch._convert_bytes(functools.partial(batch.decode_file_bytes,
                                                    extension=".ppm"), data)
    assert type(joined) is bytes and joined == expected


def test_a_piece_that_fails_writes_nothing(tmp_path):
    """An error while the pieces are made leaves no file and no temporary one, and a
    file already there as it was."""
    def pieces():
        yield b"P6\n"
        raise MemoryError

    existing = tmp_path / "old.ppm"
    existing.write_bytes(b"precious")
    for target, force in ((tmp_path / "new.ppm", False), (existing, True)):
        with pytest.raises(MemoryError):
            gcp.files.write_output(str(target), gcp.codec.Pieces(10, pieces), force=force)
    assert os.listdir(tmp_path) == ["old.ppm"] and existing.read_bytes() == b"precious"


def test_a_corrupt_file_decoded_to_ppm_is_a_format_error():
    data = bytearray(gcp.encode(np.zeros((8, 8, 3), np.uint8), 2, backend="numpy"))
    data[-1] ^= 1  # the CRC
    with pytest.raises(gcp.FormatError):
        batch.decode_file_bytes(bytes(data), extension=".ppm")
