"""Many files at once: name the outputs, then convert each file in a pool of workers.

The work on one file is a pure function of its bytes (``encode_file_bytes``,
``decode_file_bytes``), so it runs the same in this process, in local worker processes
(``run_local``) or on a Dask cluster (``run_dask``). Locally each worker reads its input
and writes its output itself; on Dask this process reads the inputs, the cluster's workers
convert the bytes, and this process writes the outputs, so the workers need no shared file
system. One bad file never stops a batch: each file ends as an ``Outcome``, failed or not.
"""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from . import codec, files, imageio, palette_png
from .container import DEFAULT_MAX_PIXELS
from .errors import GcpError, ParameterError, QualityError

EXIT_STOPPED = 130  # a worker's status when the batch is stopped (as for Ctrl-C)

logger = logging.getLogger("gcp")

# Bytes of one input file and its name (for messages) -> bytes of its output file (or
# codec.Pieces of them), or NotSmaller when skip_if_larger found nothing worth writing.
Transform = Callable[[bytes, str], "bytes | codec.Pieces | NotSmaller"]
# An input's path -> its bytes (files.read_image_input, files.read_gcp_input...).
Reader = Callable[[str], bytes]

DASK_INSTALL_HINT = "pip install 'gcp[dask]'"


@dataclass(frozen=True)
class Job:
    """One file to convert: where it comes from and where its result goes."""

    source: str
    target: str


@dataclass(frozen=True)
class NotSmaller:
    """A result no smaller than its input (``skip_if_larger``): nothing is written."""

    result_size: int
    input_size: int


@dataclass(frozen=True)
class Outcome:
    """How one job ended: ``error`` is None on success, else a one-line reason.

    ``skipped``: the result was not written, being no smaller than its input.
    ``too_low``: it failed only because its PSNR was below the minimum (``QualityError``).
    """

    job: Job
    error: str | None = None
    skipped: bool = False
    too_low: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class NameClashError(GcpError):
    """Two inputs of a batch would be written to the same output file."""


class DaskUnavailableError(GcpError):
    """A Dask scheduler was asked for, but ``dask.distributed`` is not installed."""


def encode_file_bytes(data: bytes, name: str = "input", **encode_options: Any) -> bytes:
    """An image file's bytes to the bytes of a .gcp file (keyword arguments of ``gcp.encode``).

    At debug level (``--verbose``) it logs the colours used and the PSNR reached.
    """
    max_pixels = encode_options.get("max_pixels", DEFAULT_MAX_PIXELS)
    with codec.timed_stage("image"):
        image = imageio.decode_image(data, max_pixels=max_pixels, name=name)
    if not logger.isEnabledFor(logging.DEBUG):
        return codec.encode(image, **encode_options)
    encoded, report = codec.encode_report(image, **encode_options)
    logger.debug("%s", report.describe())
    return encoded


def skip_if_larger(transform: Transform, data: bytes, name: str = "input"
                   ) -> bytes | NotSmaller:
    """``transform(data, name)``, or ``NotSmaller`` when that is no smaller than ``data``
    (pngquant's ``--skip-if-larger``). Use it as ``functools.partial(skip_if_larger, t)``."""
    result = transform(data, name)
    if isinstance(result, NotSmaller) or len(result) < len(data):
        return result
    return NotSmaller(len(result), len(data))


def decode_file_bytes(data: bytes, name: str = "input", *, extension: str = ".png",
                      max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes | codec.Pieces:
    """A .gcp file's bytes to the bytes of an image file of type ``extension`` ('.png'):
    for Netpbm, ``codec.Pieces`` that ``files.write_output`` writes as they are made; for
    PNG, a palette PNG of the file's own palette and indices where it has colour or alpha
    (``palette_png``; a grey image stays a grey PNG, which reads back as grey)."""
    with codec.timed_stage("decode"):
        if extension in imageio.NETPBM_EXTENSIONS:
            # The pixels looked up a piece at a time after the header, as they are written
            # (no buffer of 50 MB at 16.8 MP), where the format holds the channels as
            # they are.
            netpbm = codec.decode_after(data, lambda header: imageio.netpbm_header(
                extension, header.height, header.width, header.channels),
                max_pixels=max_pixels)
            if netpbm is not None:
                return netpbm
        header, palette, indices = codec.decode_indices(data, max_pixels=max_pixels)
        as_palette = extension == ".png" and header.channels in palette_png.CHANNELS_WRITTEN
        image = None if as_palette else codec.expanded(header, palette, indices)
    with codec.timed_stage("image"):
        if image is None:
            return palette_png.encode(palette, indices)
        return imageio.encode_image(image, extension)


def plan_jobs(sources: Iterable[str], output_dir: str, extension: str) -> list[Job]:
    """One job per source, writing ``output_dir/STEM + extension``.

    Raises ``NameClashError`` when two sources would share an output (``a.png`` and
    ``a.bmp``, or the same file named twice), before anything is done.
    """
    jobs: list[Job] = []
    claimed: dict[str, str] = {}
    for source in sources:
        stem = os.path.splitext(os.path.basename(source))[0]
        target = os.path.join(output_dir, stem + extension)
        key = os.path.normcase(os.path.normpath(target))
        if key in claimed:
            raise NameClashError(f"{claimed[key]} and {source} would both be written to "
                                 f"{target}; convert them in separate batches",
                                 field="output")
        claimed[key] = source
        jobs.append(Job(source, target))
    return jobs


def describe_error(error: BaseException, source: str = "") -> str:
    """One line saying what went wrong, without repeating the file name ``source``."""
    if isinstance(error, OSError) and not isinstance(error, GcpError):
        reason = error.strerror or str(error) or type(error).__name__
        if error.filename and error.filename != source:
            return f"{error.filename}: {reason}"
        return reason
    if isinstance(error, MemoryError):
        return "out of memory"
    if isinstance(error, QualityError):
        return error.describe("--min-psnr")
    if isinstance(error, GcpError):
        return str(error)
    return f"unexpected {type(error).__name__}: {error}"


def convert_file(job: Job, transform: Transform, *, force: bool = False,
                 read: Reader = files.read_input) -> Outcome:
    """Read ``job.source`` with ``read``, transform it and write ``job.target``; never
    raises for one file.

    An existing target (without ``force``) is a failure found before any work; a
    ``NotSmaller`` result is written nowhere and the outcome says it was skipped.
    """
    try:
        files.check_writable(job.target, force=force, input_path=job.source)
        data = read(job.source)
        result = transform(data, "file")
        if isinstance(result, NotSmaller):
            return Outcome(job, skipped=True)
        files.write_output(job.target, result, force=force, input_path=job.source)
    except Exception as error:  # one bad file must not end the batch
        return failed(job, error)
    return Outcome(job)


def failed(job: Job, error: BaseException) -> Outcome:
    """The outcome of ``job`` ended by ``error``."""
    return Outcome(job, describe_error(error, job.source),
                   too_low=isinstance(error, QualityError))


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_local(jobs: list[Job], transform: Transform, *, workers: int, force: bool = False,
              read: Reader = files.read_input,
              worker_setup: Callable[[], None] | None = None) -> Iterator[Outcome]:
    """Convert ``jobs`` in ``workers`` processes (1: in this one), yielding as each ends.

    ``transform``, ``read`` and ``worker_setup`` (run once in each new worker, e.g. to set up
    logging) must be picklable: module-level functions or ``functools.partial`` of them.
    Workers are started fresh ("spawn"), never forked from a process that may hold an
    OpenCL context, and leave Ctrl-C to this process.
    """
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield convert_file(job, transform, force=force, read=read)
        return
    import multiprocessing  # here, not at the top: it costs a one-file run 4 ms of imports

    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker, initargs=(worker_setup,))
    finished = False
    try:
        futures = {pool.submit(_convert_in_worker, job, transform, force, read): job
                   for job in jobs}
        for future in concurrent.futures.as_completed(futures):
            yield _local_outcome(future, futures[future])
        finished = True
    finally:
        if not finished:  # Ctrl-C, or the caller stopped asking
            _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Ask each worker to stop now (SIGTERM; ``_stop_worker`` in it): cancelling the
    futures leaves the jobs already passed to a worker, and the running ones, to go on
    (a batch took 9 s to stop on Ctrl-C, and wrote a file it had not started). Python
    3.14's ``terminate_workers`` does this; before it, the executor's own table."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()


class _Stopped(BaseException):
    """Raised in a worker's job when the batch is stopped: it unwinds the job, so that
    the temporary file of an output being written is removed, and is not a failure."""


_job_running = False
_stopping = False


def _start_worker(setup: Callable[[], None] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    if setup is not None:
        setup()


def _stop_worker(signal_number: int, frame: Any) -> None:
    global _stopping
    _stopping = True
    if _job_running:
        raise _Stopped
    os._exit(EXIT_STOPPED)


def _convert_in_worker(job: Job, transform: Transform, force: bool, read: Reader
                       ) -> Outcome:
    """``convert_file`` in a worker process, which a stop ends before or during it."""
    global _job_running
    if _stopping:
        os._exit(EXIT_STOPPED)
    _job_running = True
    try:
        return convert_file(job, transform, force=force, read=read)
    except _Stopped:
        os._exit(EXIT_STOPPED)
    finally:
        _job_running = False


def _local_outcome(future: concurrent.futures.Future, job: Job) -> Outcome:
    try:
        return future.result()
    except concurrent.futures.BrokenExecutor:  # the pool's: a worker process died
        return Outcome(job, "a worker process died (out of memory?)")
    except Exception as error:  # the outcome could not come back (pickling, say)
        return failed(job, error)


def connect_dask(scheduler: str):
    """A ``distributed.Client`` for the scheduler at ``scheduler`` (use it with ``with``).

    Waits as long as Dask's ``distributed.comm.timeouts.connect`` setting says.
    """
    distributed = import_distributed()
    # A Client that failed to connect earlier in this process is closed when the garbage
    # collector finds it; were that to happen while the new Client starts its event loop
    # (which holds the loop's lock), close() would wait on that lock for ever.
    gc.collect()
    try:
        return distributed.Client(scheduler)
    except ValueError as error:  # not an address
        raise ParameterError(f"--scheduler {scheduler}: {error}", field="scheduler") from None
    except OSError as error:
        raise OSError(f"cannot reach the Dask scheduler at {scheduler}: "
                      f"{describe_error(error)}") from None


def run_dask(jobs: list[Job], transform: Transform, *, client, force: bool = False,
             read: Reader = files.read_input) -> Iterator[Outcome]:
    """Convert ``jobs`` on the cluster of ``client`` (``connect_dask``), yielding as each ends.

    Only bytes travel: this process reads each input (with ``read``), a worker runs
    ``transform`` on it, and this process writes the result. A few tasks per worker thread
    are in flight at a time, so memory here stays bounded however long the batch. The
    workers need gcp installed (the same version), not the files.
    """
    distributed = import_distributed()
    window = max(4, 2 * sum(client.nthreads().values()))
    waiting = iter(jobs)
    running = distributed.as_completed()
    submitted: dict[Any, Job] = {}

    def top_up() -> Iterator[Outcome]:
        while len(submitted) < window:
            job = next(waiting, None)
            if job is None:
                return
            yield from _submit_to_dask(client, running, submitted, job, transform, force,
                                       read)

    yield from top_up()
    for future in running:
        yield _finish_dask_job(future, submitted.pop(future), force)
        yield from top_up()


def import_distributed():
    """The ``distributed`` module, or ``DaskUnavailableError`` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise DaskUnavailableError(f"--scheduler needs dask.distributed, which is not "
                                   f"installed; {DASK_INSTALL_HINT}", field="scheduler") from None
    return distributed


def _submit_to_dask(client, running, submitted: dict, job: Job, transform: Transform,
                    force: bool, read: Reader) -> Iterator[Outcome]:
    """Send one job's bytes to the cluster; yield its failure at once if it cannot start."""
    try:
        files.check_writable(job.target, force=force, input_path=job.source)
        data = read(job.source)
    except Exception as error:
        yield failed(job, error)
        return
    [remote_data] = client.scatter([data], hash=False)
    future = client.submit(_convert_bytes, transform, remote_data, pure=False)
    submitted[future] = job
    running.add(future)


def _convert_bytes(transform: Transform, data: bytes
                   ) -> bytes | NotSmaller | tuple[str, bool]:
    """On a worker: the output bytes (or ``NotSmaller``), or a one-line reason and whether
    the PSNR was too low (so bad files log no tracebacks). ``codec.Pieces`` are joined
    here, so that a failure making them is reported as any other."""
    try:
        result = transform(data, "file")
        return bytes(result) if isinstance(result, codec.Pieces) else result
    except Exception as error:
        return describe_error(error), isinstance(error, QualityError)


def _finish_dask_job(future, job: Job, force: bool) -> Outcome:
    try:
        result = future.result()
        if isinstance(result, tuple):
            reason, too_low = result
            return Outcome(job, reason, too_low=too_low)
        if isinstance(result, NotSmaller):
            return Outcome(job, skipped=True)
        files.write_output(job.target, result, force=force, input_path=job.source)
    except Exception as error:
        return failed(job, error)
    return Outcome(job)
