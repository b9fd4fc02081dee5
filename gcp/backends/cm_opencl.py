"""Method cm's coder as OpenCL kernels (``cm.cl``): the fast path of ``gcp/cm.py``.

One work-item codes one stripe at a time, so stripes run in parallel; each work-item has
its own model tables (``SCRATCH_WORDS`` words), reset per stripe. The bytes and the
indices are the reference's (tests/test_cm.py).
"""

from __future__ import annotations

import logging
import time
import warnings
from contextlib import contextmanager
from importlib import resources

import numpy as np

from .. import cm
from ..errors import BackendError, FormatError, LimitError
from . import opencl
from .kernel_cache import build_program

logger = logging.getLogger("gcp")

STATUS_OK, STATUS_OVERFLOW, STATUS_BAD_RANK, STATUS_BAD_LENGTH = range(4)
MAX_CHANNELS = 4  # cm.cl keeps bias values for this many channels whatever the palette's
# A work-item's tables, in 32-bit words, as cm.cl lays them out; the kernel's build checks
# that its own SCRATCH_WORDS is this (HOST_SCRATCH_WORDS).
SCRATCH_WORDS = (cm.DIRECT_CONTEXTS + 3 * (1 << cm.HASH_BITS) + cm.ANCHOR_CONTEXTS
                 + (1 << cm.HASH_BITS) + (1 << cm.ROW_MATCH_BITS)  # the match tables
                 + cm.MIXER_SETS * cm.MIXER_INPUTS + cm.RANK_CONTEXTS
                 + cm.RANK_STEPS * cm.RANK_INPUTS + cm.BIAS_CONTEXTS * MAX_CHANNELS * cm.BIAS_VALUES
                 + cm.MATCH_STATES * cm.FLAT_INPUTS + cm.FLAT_VALUE_CONTEXTS
                 + (1 << cm.FLAT_HASH_BITS) + cm.RANK_STEPS * cm.BIAS_CONTEXTS
                 + cm.RANK_CONTEXTS * cm.APM_CELLS
                 + cm.SPAN_DIRECT_CONTEXTS + cm.SPAN_VALUE_CONTEXTS + (1 << cm.FLAT_HASH_BITS)
                 + cm.SPAN_PIXEL_CONTEXTS + cm.SPAN_BUCKETS * cm.SPAN_INPUTS
                 + cm.ROW_REPEAT_CONTEXTS)
# Work-items per compute unit of a CPU device. Each takes the next stripe left when it ends
# one, so one a core balances the load; more only add scratch memory (4.7 MiB each) and its
# cache misses.
CPU_ITEMS_PER_UNIT = 1
# A GPU takes every stripe at once, up to this many (4.7 MiB of scratch each).
MAX_GPU_ITEMS = 256
# Where no device is named, method cm codes on a CPU device: a work-item is one stripe's
# serial coder, and the encoder writes 16 stripes at 16.8 MP. On an H200 machine
# (benchmarks/README.md) the GPU coded 16 stripes at 4-16 MP/s and POCL on its 16 cores at
# 48-176 MP/s; the GPU caught up only with 256 stripes, files 7-16% larger.
DEVICE_PREFERENCE = ("CPU", "ACCELERATOR", "GPU")

_programs: dict[int, tuple[object, object]] = {}


def build_options(prefetch_lines: bool = False) -> list[str]:
    """The model's constants, from ``gcp/cm.py``, for the kernel's build; with
    ``prefetch_lines`` (a CPU device) the kernel asks for the lines it reads next."""
    return [f"-DPREFETCH_LINES={int(prefetch_lines)}",
            f"-DHASH_BITS={cm.HASH_BITS}", f"-DCOUNT_LIMIT={cm.COUNT_LIMIT}",
            f"-DMIXER_RATE={cm.MIXER_RATE}", f"-DMIXER_SHIFT={cm.MIXER_SHIFT}",
            f"-DWEIGHT_START={cm.WEIGHT_START}", f"-DWEIGHT_LIMIT={cm.WEIGHT_LIMIT}",
            f"-DROW_MATCH_WIDTH={cm.ROW_MATCH_WIDTH}u", f"-DROW_MATCH_STEP={cm.ROW_MATCH_STEP}u",
            f"-DROW_MATCH_BITS={cm.ROW_MATCH_BITS}u", f"-DBIAS_VALUES={cm.BIAS_VALUES}u",
            f"-DPREDICTORS={cm.PREDICTORS}u", f"-DBLEND_WEIGHT_ONE={cm.BLEND_WEIGHT_ONE}L",
            f"-DAPM_RATE={cm.APM_RATE}", "-DAPM_START_VALUES=" + ",".join(map(str, cm.APM_START)),
            f"-DWIDE_TEMPLATE_SIZE={len(cm.WIDE_TEMPLATE)}u",
            "-DWIDE_TEMPLATE_VALUES=" + ",".join(f"{dx},{dy}" for dx, dy in cm.WIDE_TEMPLATE),
            f"-DOUTSIDE_TEMPLATE={cm.OUTSIDE_TEMPLATE}u", f"-DWIDE_KEY_TAG={cm.WIDE_KEY_TAG}u",
            f"-DHOST_SCRATCH_WORDS={SCRATCH_WORDS}u"]


def kernels(backend) -> tuple[object, object]:
    """``(cm_encode, cm_decode)`` for ``backend``'s context, built once."""
    with backend.lock:
        key = id(backend)
        if key not in _programs:
            started = time.perf_counter()
            built = _build(backend, prefetch_lines=backend.shares_host_memory)
            _programs[key] = (built.cm_encode, built.cm_decode)
            backend.build_seconds["cm"] = time.perf_counter() - started
        return _programs[key]


def _build(backend, prefetch_lines: bool):
    """``cm.cl`` built for ``backend``. The prefetch hints are Clang's builtin, which a
    compiler may refuse for global pointers (NVIDIA's does): then the kernels are built
    without them, since a hint changes no result."""
    source = resources.files("gcp.backends").joinpath("cm.cl").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # build logs full of harmless notes
        try:
            return build_program(backend.cl, backend.context, source,
                                 build_options(prefetch_lines=prefetch_lines))
        except backend.cl.Error as error:
            if prefetch_lines:
                logger.debug("cm.cl with prefetch hints did not build on %s; built without",
                             backend.device)
                return _build(backend, prefetch_lines=False)
            raise BackendError(f"OpenCL build of cm.cl failed on {backend.device}: "
                               f"{opencl.build_failure(error)}") from None


class _Session:
    """Buffers for one call on ``backend``: uploads, outputs, the palette's tables."""

    def __init__(self, backend) -> None:
        self.backend, self.cl = backend, backend.cl
        self.flags = backend.cl.mem_flags

    def upload(self, array: np.ndarray):
        return self.cl.Buffer(self.backend.context,
                              self.flags.READ_ONLY | self.flags.COPY_HOST_PTR,
                              hostbuf=np.ascontiguousarray(array))

    def output(self, nbytes: int):
        return self.cl.Buffer(self.backend.context, self.flags.READ_WRITE, size=max(nbytes, 1))

    def job_counter(self):
        """A uint32 the kernel counts its jobs taken with, from 0."""
        return self.cl.Buffer(self.backend.context,
                              self.flags.READ_WRITE | self.flags.COPY_HOST_PTR,
                              hostbuf=np.zeros(1, np.uint32))

    def palette_arguments(self, palette: np.ndarray, weights: tuple[int, ...]) -> list:
        """size, channels, colours, weights, order, ranks, distances, stretch, knots,
        reciprocals."""
        distances = cm.colour_distances(palette, weights)
        order = cm.colour_order(distances)
        return [np.uint32(len(palette)), np.uint32(palette.shape[1]), self.upload(palette),
                self.upload(np.array(weights, np.uint32)),
                self.upload(order), self.upload(cm.colour_ranks(order)),
                self.upload(cm.ordered_distances(distances, order)),
                self.upload(np.array(cm.STRETCH, np.int16)),
                self.upload(np.array(cm.SQUASH_KNOTS, np.int16)),
                self.upload(np.array(cm.RECIPROCALS, np.uint32))]

    def scratch(self, items: int):
        return self.output(items * SCRATCH_WORDS * 4)

    def fetch(self, buffers_and_arrays) -> None:
        for buffer, array in buffers_and_arrays:
            self.cl.enqueue_copy(self.backend.queue, array, buffer)
        self.backend.queue.finish()


def _item_count(backend, stripes: int) -> int:
    if backend.shares_host_memory:
        units = backend.context.devices[0].max_compute_units
        return max(1, min(stripes, units * CPU_ITEMS_PER_UNIT))
    return max(1, min(stripes, MAX_GPU_ITEMS))


def encode_stripes(backend, indices: np.ndarray, palette: np.ndarray,
                   weights: tuple[int, ...], stripe_height: int, smooth: bool = False,
                   uu_offset: tuple[int, int] | None = None, wide: bool = False,
                   table_shrink: int = 0) -> list[bytes]:
    """Every stripe's bytes, mode byte first, as ``cm.reference_stripes`` gives them.
    ``indices`` is uint8 (height, width), ``palette`` uint8 (K, C), ``weights`` a
    channel_weight per channel; ``smooth``: in the smooth modes; ``uu_offset``: UU's offset;
    ``wide``: the match keyed by the wide template (STRIPE_CODED_WIDE); ``table_shrink``:
    each coded stripe's."""
    return encode_codings(backend, indices, palette, weights, stripe_height,
                          [cm.Coding(smooth, uu_offset, wide, table_shrink)])[0]


def encode_codings(backend, indices: np.ndarray, palette: np.ndarray,
                   weights: tuple[int, ...], stripe_height: int, codings: list[cm.Coding]
                   ) -> list[list[bytes]]:
    """Each of ``codings``' stripes' bytes, as ``cm.reference_codings`` gives them
    (``encode_stripes``' arguments).

    One launch, a job a stripe and coding: every stripe coded in each coding, and each
    tried stripe in the ranks mode too (``cm.ranks_trials``), so that an image of one
    stripe codes both ways, or in two codings, on two cores at once; a job two codings
    share is done once. Where a verdict stripe is taken, it is coded both ways in that
    launch beside the stripes not tried, and a second launch codes the other tried
    stripes in the mode it kept."""
    rows = cm.stripe_rows(len(indices), stripe_height)
    indices = np.ascontiguousarray(indices, np.uint8)
    plans = [_RanksPlan(indices, stripe_height, coding) for coding in codings]
    coded: dict[tuple[int, tuple[int, tuple[int, int]]], bytes | None] = {}

    def code(jobs: list) -> None:
        jobs = list(dict.fromkeys(job for job in jobs if job not in coded))
        if jobs:
            coded.update(zip(jobs, _code_jobs(backend, indices, palette, weights,
                                              stripe_height, jobs), strict=True))

    code([job for plan in plans for job in plan.first_jobs()])
    code([job for plan in plans for job in plan.waiting_jobs(coded, rows, len(palette))])
    return [plan.stripes(coded, rows, len(palette)) for plan in plans]


class _RanksPlan:
    """The jobs (stripe number, (mode byte, UU offset)) that code uint8 (height, width)
    indices in one ``cm.Coding``: each stripe in its coded mode, and each tried stripe in
    the ranks mode too, those waiting for the verdict stripe in the mode it keeps."""

    def __init__(self, indices: np.ndarray, stripe_height: int, coding: cm.Coding) -> None:
        self.indices = indices
        self.tried, self.verdict = cm.ranks_trials(indices, stripe_height, coding.uu_offset)
        self.coded, self.ranks = cm.stripe_codings(*coding)
        self.waiting = {s for s, is_tried in enumerate(self.tried)
                        if is_tried and self.verdict is not None and s != self.verdict}
        self.modes = {s: [self.coded, self.ranks] if is_tried else [self.coded]
                      for s, is_tried in enumerate(self.tried) if s not in self.waiting}

    def first_jobs(self) -> list[tuple[int, tuple[int, tuple[int, int]]]]:
        """The jobs that need no verdict: the coded modes first, then the ranks modes."""
        return [(s, modes[0]) for s, modes in self.modes.items()] + \
            [(s, modes[1]) for s, modes in self.modes.items() if len(modes) > 1]

    def waiting_jobs(self, coded: dict, rows: list[tuple[int, int]], palette_size: int
                     ) -> list[tuple[int, tuple[int, tuple[int, int]]]]:
        """The waiting stripes' jobs, in the mode the verdict stripe kept (``coded`` holds
        the first jobs' data), now recorded as those stripes' modes."""
        if not self.waiting:
            return []
        verdict = self._stripe(self.verdict, coded, rows, palette_size)
        chosen = self.ranks if cm.ranks_verdict(verdict) else self.coded
        for s in self.waiting:
            self.modes[s] = [chosen]
        return [(s, chosen) for s in sorted(self.waiting)]

    def stripes(self, coded: dict, rows: list[tuple[int, int]], palette_size: int
                ) -> list[bytes]:
        """Every stripe's bytes, once every job is in ``coded``."""
        return [self._stripe(s, coded, rows, palette_size) for s in range(len(rows))]

    def _stripe(self, s: int, coded: dict, rows: list[tuple[int, int]], palette_size: int
                ) -> bytes:
        top, count = rows[s]
        return cm.best_stripe(self.indices[top:top + count],
                              [(cm.stripe_prefix(mode, uu), coded[(s, (mode, uu))])
                               for mode, uu in self.modes[s]], palette_size)


def coded_lengths(backend, indices: np.ndarray, palette: np.ndarray,
                  weights: tuple[int, ...], codings: list[tuple[int, tuple[int, int]]]
                  ) -> list[int | None]:
    """The coded data's length of uint8 (rows, width) ``indices`` as one stripe in each of
    ``codings`` ((mode byte, UU offset)), as ``cm.coded_lengths`` gives them; None where
    it is no shorter than the indices. One launch: a job a coding, side by side."""
    datas = _code_jobs(backend, np.ascontiguousarray(indices, np.uint8), palette, weights,
                       len(indices), [(0, coding) for coding in codings])
    return [None if data is None else len(data) for data in datas]


def _code_jobs(backend, indices: np.ndarray, palette: np.ndarray, weights: tuple[int, ...],
               stripe_height: int, jobs: list[tuple[int, tuple[int, tuple[int, int]]]]
               ) -> list[bytes | None]:
    """Each job's coded data, (stripe number, (mode byte, UU offset)), of uint8 (height,
    width) ``indices`` in stripes of ``stripe_height`` rows; None where the coder ran out
    of room (the stripe's pixel count)."""
    height, width = indices.shape
    rows = cm.stripe_rows(height, stripe_height)
    room = np.array([rows[s][1] * width for s, _ in jobs], np.uint64)
    offsets = np.zeros(len(jobs), np.uint64)
    offsets[1:] = np.cumsum(room)[:-1]
    out = np.empty(int(room.sum()), np.uint8)
    lengths = np.empty(len(jobs), np.uint64)
    statuses = np.empty(len(jobs), np.int32)
    items = _item_count(backend, len(jobs))
    encode, _ = kernels(backend)
    with backend.lock:
        session = _Session(backend)
        out_buffer = session.output(out.nbytes)
        length_buffer = session.output(lengths.nbytes)
        status_buffer = session.output(statuses.nbytes)
        encode(backend.queue, (items,), (1,), session.upload(indices), np.uint32(width),
               np.uint32(height), np.uint32(stripe_height), np.uint32(len(jobs)),
               session.upload(np.array([s for s, _ in jobs], np.uint32)),
               session.upload(np.array([kernel_coding(*coding) for _, coding in jobs],
                                       np.uint32)),
               *session.palette_arguments(palette, weights), session.scratch(items),
               out_buffer, session.upload(offsets), length_buffer, status_buffer,
               session.job_counter())
        session.fetch([(out_buffer, out), (length_buffer, lengths),
                       (status_buffer, statuses)])
    return [None if statuses[j] == STATUS_OVERFLOW
            else out[int(offsets[j]):int(offsets[j]) + int(lengths[j])].tobytes()
            for j in range(len(jobs))]


def kernel_coding(mode: int, uu_offset: tuple[int, int] = cm.TWO_UP) -> int:
    """A stripe's coding as the kernel's code_stripe takes it: the mode byte ``mode``
    (stripe_mode and table_shrink), and for STRIPE_CODED_UU uu_rows << 8 and uu_shift (as
    a byte) << 16."""
    if cm.mode_of(mode) != cm.STRIPE_CODED_UU:
        return mode
    uu_rows, uu_shift = uu_offset
    return mode | uu_rows << 8 | (uu_shift & 0xFF) << 16


def decode_stripes(backend, stripes: list[memoryview], width: int, height: int,
                   stripe_height: int, palette: np.ndarray, weights: tuple[int, ...]
                   ) -> np.ndarray:
    """uint8 (height, width) indices of stripes that ``cm.split_stripes`` has checked,
    with its channel ``weights``.
    A corrupt stripe raises ``FormatError``: the first in stripe order, as the reference
    reports it."""
    rows = cm.stripe_rows(height, stripe_height)
    coded = [s for s, stripe in enumerate(stripes) if cm.mode_of(stripe[0]) in cm.CODED_MODES]
    statuses = np.zeros(len(stripes), np.int32)
    indices = np.empty((height, width), np.uint8)
    with backend.lock, _device_memory_is_a_limit(backend, width, height):
        finish = None
        if coded:
            finish = _run_decode(backend, [cm.coded_data(stripes[s]) for s in coded], coded,
                                 [kernel_coding(stripes[s][0], cm.stripe_uu_offset(stripes[s]))
                                  for s in coded], width, height, stripe_height, palette,
                                 weights)
            statuses[coded] = finish(None)
        uncoded = _check_in_order(statuses, stripes, rows, width, len(palette))
        # Only a valid body's indices are copied back: a corrupt one never makes the
        # host touch the whole image's memory.
        if finish is not None:
            finish(indices)
    for s, stripe_indices in uncoded.items():
        top, count = rows[s]
        indices[top:top + count] = stripe_indices
    return indices


def _run_decode(backend, datas: list, coded: list[int], codings: list[int], width: int,
                height: int, stripe_height: int, palette: np.ndarray,
                weights: tuple[int, ...]):
    """Start the decode kernel on the coded stripes (``codings``: each one's
    ``kernel_coding``);
    returns ``finish(out)``, which gives the statuses (``out`` None) or
    copies the indices into ``out``.

    The kernel takes the stripes in the order given to it: the longest data first, which
    are the slowest to decode, so that no core is left with a long one at the end."""
    lengths = np.array([len(data) for data in datas], np.uint64)
    offsets = np.zeros(len(coded), np.uint64)
    offsets[1:] = np.cumsum(lengths)[:-1]
    body = np.frombuffer(b"".join(datas), np.uint8)
    longest_first = np.argsort(-lengths.astype(np.int64), kind="stable")
    items = _item_count(backend, len(coded))
    _, decode = kernels(backend)
    session = _Session(backend)
    out_buffer = session.output(width * height)
    status_buffer = session.output(4 * len(coded))
    decode(backend.queue, (items,), (1,), session.upload(body if body.size else
                                                         np.zeros(1, np.uint8)),
           session.upload(offsets[longest_first]), session.upload(lengths[longest_first]),
           session.upload(np.array(coded, np.uint32)[longest_first]), np.uint32(len(coded)),
           np.uint32(width), np.uint32(height), np.uint32(stripe_height),
           *session.palette_arguments(palette, weights), session.scratch(items), out_buffer,
           status_buffer, session.upload(np.array(codings, np.uint32)[longest_first]),
           session.job_counter())

    def finish(out: np.ndarray | None) -> np.ndarray | None:
        if out is None:
            taken = np.empty(len(coded), np.int32)
            session.fetch([(status_buffer, taken)])
            statuses = np.empty_like(taken)
            statuses[longest_first] = taken
            return statuses
        session.fetch([(out_buffer, out)])
        return None
    return finish


def _check_in_order(statuses: np.ndarray, stripes: list[memoryview],
                    rows: list[tuple[int, int]], width: int, palette_size: int
                    ) -> dict[int, np.ndarray]:
    """Raise for the first bad stripe, coded or uncoded, in stripe order; else the uncoded
    stripes' indices, uint8 (rows, width) by stripe number, read once here."""
    uncoded = {}
    for s, status in enumerate(statuses):
        if stripes[s][0] in cm.UNCODED_MODES:
            uncoded[s] = cm.stored_indices(stripes[s], rows[s][1], width, palette_size)
        elif status == STATUS_BAD_RANK:
            raise FormatError(f"cm stripe {s} codes a rank past the colours left",
                              field="cm_rank")
        elif status != STATUS_OK:
            raise FormatError(f"cm stripe {s}'s coder did not end at the last of its "
                              f"{len(cm.coded_data(stripes[s]))} bytes", field="cm_data")
    return uncoded


@contextmanager
def _device_memory_is_a_limit(backend, width: int, height: int):
    """An OpenCL allocation failure is a ``LimitError``, as a host ``MemoryError`` is."""
    try:
        yield
    except backend.cl.MemoryError:
        raise LimitError(f"not enough OpenCL device memory for a {width}x{height} image",
                         field="memory") from None
