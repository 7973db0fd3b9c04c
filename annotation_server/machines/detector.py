"""Offline detectors: a model run on the worker's CPU through onnxruntime, its weights shipped
inside its Python package, no network. NudeNet (nudenet 3.4.2's 320n ONNX model, in the wheel)
finds exposed and covered body parts and faces; detector_mapping.py says what they mean in a
taxonomy. One session is loaded per run and kept for all its items."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import cv2
import nudenet
import numpy as np
import onnxruntime
from nudenet import NudeDetector

from .calls import Usage, Verdict
from .detector_mapping import NUDENET_CLASSES, Rule, detections_answer
from .media import ItemMedia, MediaUnavailable, image_bytes, video_frames
from .prompts import Question

NUDENET_MODEL = Path(nudenet.__file__).with_name("320n.onnx")


class Undecodable(MediaUnavailable):
    """The file is there but is no picture: a verdict saying so is stored (it will not
    decode better next time), unlike a file that cannot be read."""


class _NudeNetSession(NudeDetector):
    """NudeNet's detector (its pre- and post-processing) on a session made with our options:
    its own constructor takes none, and one session per run is what keeps a run's cost the
    model's."""

    def __init__(self, options: onnxruntime.SessionOptions):
        self.onnx_session = onnxruntime.InferenceSession(
            str(NUDENET_MODEL), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.input_width = self.input_height = 320
        self.input_name = self.onnx_session.get_inputs()[0].name


class NudeNet:
    classes = NUDENET_CLASSES

    def __init__(self, *, threads: int = 0):
        options = onnxruntime.SessionOptions()
        # threads: onnxruntime's intra-op pool (0: one per core); items go one at a time.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._detector = _NudeNetSession(options)
        self.model = f"nudenet {version('nudenet')} 320n"

    def detect(self, picture: np.ndarray) -> list[dict]:
        """[{class, score, box: [x, y, w, h] in pixels}] of one BGR picture."""
        return self._detector.detect(picture)


DETECTORS = {"nudenet": NudeNet}


def detector_load(name: str, *, threads: int = 0):
    try:
        return DETECTORS[name](threads=threads)
    except KeyError:
        raise ValueError(f"Unknown detector {name!r}.") from None


def decode(data: bytes, what: str) -> np.ndarray:
    picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if picture is None:
        raise Undecodable(f"{what}: not a decodable image ({len(data)} bytes)")
    return picture


def item_pictures(item: ItemMedia, *, frames: int, selection: str):
    """(time or None, BGR picture) of each picture of an item: an image, or a video's frames.
    A video file that is there but yields no frames is Undecodable."""
    if not item.is_video:
        return [(None, decode(image_bytes(item), f"image {item.name}"))]
    try:
        chosen = video_frames(item, frames=frames, selection=selection)
    except MediaUnavailable as error:
        if Path(item.location).is_file():
            raise Undecodable(str(error)) from error
        raise
    return [(at, decode(jpeg, f"video {item.name} at {at} s")) for at, jpeg in chosen]


def detector_verdict(
    detector, rule: Rule, question: Question, item: ItemMedia, *, frames: int, selection: str
) -> tuple[Verdict, dict]:
    """The verdict on one item and what its details keep beyond a VLM's: every detection
    (class, score, box, frame time), the rule, unsure. An undecodable item is an unparseable
    verdict saying why; an unreadable one raises MediaUnavailable (called again next run)."""
    usage = Usage()
    try:
        pictures = item_pictures(item, frames=frames, selection=selection)
    except Undecodable as error:
        empty = {"harmful": None, "categories": None}
        verdict = Verdict("unparseable", empty, str(error), [], usage, 1, [str(error)])
        return verdict, {"model": detector.model, "detections": [], "unsure": False}
    detections = []
    for at, picture in pictures:
        usage.calls += 1
        for found in detector.detect(picture):
            detections.append({**found, "score": round(found["score"], 4), "at": at})
    made = detections_answer(detections, rule, question)
    verdict = Verdict("ok", made["answer"], made["reason"], [], usage, 1)
    extra = {
        "model": detector.model,
        "detections": detections,
        "frames": [at for at, _ in pictures] if item.is_video else [],
        "unsure": made["unsure"],
        "unsure_categories": made["unsure_categories"],
        "threshold": rule.threshold,
        "unsure_band": rule.unsure_band,
        "mapping": rule.mapping,
    }
    return verdict, extra
