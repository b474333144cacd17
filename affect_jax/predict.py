r"""Valence and arousal for every frame of new videos, and every face of photos, from a trained run.

  python -m affect_jax.predict --checkpoint=runs/gru3 \
      --input=talk.mp4 --input=clips/ --input=group.jpg --output=predictions [--annotate]

`--checkpoint` is a train_rnn run (its CNN is found through the run's own
record, its feature store or its config.rnn.cnn_workdir, as in runs from
affect_jax.import_keras, or given with --cnn_checkpoint) or a train_cnn run
(the CNN's own head, frame by frame); the checkpoint's saved config rebuilds
the model. It may also be a folder from `python -m affect_jax.export`: then
onnxruntime runs it, the same way, and JAX is not imported.

Inputs are videos (mp4, avi, mov, ...), folders of videos, photos (jpg, png,
bmp, tif, webp: gray, RGB, RGBA or 16-bit), or folders of images: one video
when the names are numbered frames (00001.jpg, frame_0002.png, ...), separate
photos otherwise (`--image_folders` decides instead; faces/video_io.py has the
rule). Photos are predicted by inference/predict_photos.py, which says what
they write.

In videos every face is detected (`--detector`: dlib's HOG by default, or the
paper's Haar cascade) and followed with a stable id; only faces seen in
several consecutive frames (or with a high score) count, so isolated false
hits are no face (faces/track.py). Each face is cropped aligned by its eyes
like Aff-Wild2's cropped_aligned frames (`--crop=aligned`, or the raw `box`),
smoothed along its track. The detector and crop default to the framing the
model's CNN was trained on (`--framing`; faces/framing.py): a CNN trained on
`ck_plus/foldK_box` sees Haar boxes, as in its training, with its build's `face_margin`
(`--face_margin`). With --cropped_faces
the inputs are face crops already and each frame's centred square is the face.
The CNN runs in batches, then the RNN over every full window of each face's
track (frame_model.py says which frames it predicts and how the others are
filled); neither holds the whole video's crops or features (track_values.py).

Writes per video OUT/<name>.csv (one row per frame and face;
inference/outputs.py lists the columns), OUT/<name>_timeline.png (a panel per
face) and, with --annotate, OUT/<name>_annotated.mp4 (boxes with ids). An
input that fails is reported and skipped; the exit status is 1 if any failed.
"""

import dataclasses
import sys

from absl import app, flags, logging

from affect_jax import runtime, startup
from affect_jax.faces.align import EYE_METHODS
from affect_jax.faces.detectors import DEFAULT_DETECT_WIDTH, DEFAULT_DETECTOR, DETECTORS
from affect_jax.faces.finder import DEFAULT_FULL_SEARCH_EVERY, DEFAULT_SMALL_FACE_SEARCH_EVERY
from affect_jax.faces.framing import FRAMINGS
from affect_jax.faces.video_io import DEFAULT_FPS, IMAGE_FOLDERS
from affect_jax.inference.exported_folder import is_exported_folder
from affect_jax.inference.predict_videos import Options, load_model, predict_with
from affect_jax.inference.video_faces import (
    CROPS,
    trained_face_margin,
    trained_framing,
    with_framing,
)
from affect_jax.runtime import ConfigError

_CHECKPOINT = flags.DEFINE_string(
    "checkpoint", None, "A train_rnn or train_cnn run (workdir), or an exported folder."
)
_CNN_CHECKPOINT = flags.DEFINE_string(
    "cnn_checkpoint", None, "The CNN run of an RNN, if its feature store is gone."
)
_STEP = flags.DEFINE_string("step", "best", "Checkpoint: best (validation loss), latest or N.")
_INPUT = flags.DEFINE_multi_string(
    "input", None, "Video, photo, or a folder of videos or of images."
)
_OUTPUT = flags.DEFINE_string("output", None, "Folder for the CSV, PNG (and video) files.")
_ANNOTATE = flags.DEFINE_bool(
    "annotate", False, "Also write annotated copies: <name>_annotated.mp4 or .jpg (photos)."
)
_WRITE_VIDEO = flags.DEFINE_bool("write_video", False, "The same as --annotate (its old name).")
_IMAGE_FOLDERS = flags.DEFINE_enum(
    "image_folders",
    "auto",
    IMAGE_FOLDERS,
    "A folder of images is: auto (one video if named as numbered frames, else photos), "
    "video, or photos.",
)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Face crops per CNN call.")
_FPS = flags.DEFINE_float("fps", DEFAULT_FPS, "Frame rate of image folders and rate-less videos.")
_FACE_MARGIN = flags.DEFINE_float(
    "face_margin",
    0.0,
    "Border around the face on each side, a fraction of its size (of the box, or of the "
    "aligned template). Default: the margin the model's training build added (0 if none).",
)
_MIN_FACE = flags.DEFINE_integer(
    "min_face_size", 0, "Haar only: smallest face in pixels at --detect_width (0: 24)."
)
_DETECTOR = flags.DEFINE_enum("detector", DEFAULT_DETECTOR, DETECTORS, "Face detector.")
_DETECT_WIDTH = flags.DEFINE_integer(
    "detect_width", DEFAULT_DETECT_WIDTH, "Frames are searched at this width (0: as they are)."
)
_FULL_SEARCH_EVERY = flags.DEFINE_integer(
    "full_search_every",
    DEFAULT_FULL_SEARCH_EVERY,
    "Search whole frames every N frames and only near the faces being followed in between "
    "(1: every frame whole; slower, finds a new face in its first frame).",
)
_SMALL_FACE_SEARCH_EVERY = flags.DEFINE_integer(
    "small_face_search_every",
    DEFAULT_SMALL_FACE_SEARCH_EVERY,
    "Search whole frames at twice the video's size (up to 1280x720), for faces from 40 px, "
    "every N frames (0: never; HOG only).",
)
_MAX_FACES = flags.DEFINE_integer(
    "max_faces", 0, "Most faces kept per video, longest first (0: all)."
)
_FRAMING = flags.DEFINE_enum(
    "framing",
    None,
    list(FRAMINGS),
    "How faces are cut (affect_jax/faces/framing.py); sets --detector and --crop unless "
    "they are given. Default: the framing the model's CNN was trained on, as its run "
    "recorded it; aligned where none is recorded.",
)
_CROP = flags.DEFINE_enum(
    "crop", "aligned", CROPS, "aligned: by the eyes; box: the detector's box."
)
_EYES = flags.DEFINE_enum(
    "eyes", "auto", EYE_METHODS, "Eye finder for aligned crops (auto: best installed)."
)
_CROPPED_FACES = flags.DEFINE_bool(
    "cropped_faces",
    False,
    "Inputs are already face crops (e.g. Aff-Wild2's cropped_aligned frames): no "
    "detection, the centred square of each frame is the face.",
)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments {argv[1:]}; inputs go in --input.")
    exported = is_exported_folder(_CHECKPOINT.value)  # Runs with onnxruntime, not JAX.
    startup.start_process(computes=not exported, keeps_freed_memory=False)
    options = Options(
        write_video=_ANNOTATE.value or _WRITE_VIDEO.value,
        image_folders=_IMAGE_FOLDERS.value,
        face_margin=_FACE_MARGIN.value,
        min_face_size=_MIN_FACE.value,
        cropped_faces=_CROPPED_FACES.value,
        detector=_DETECTOR.value,
        detect_width=_DETECT_WIDTH.value,
        full_search_every=_FULL_SEARCH_EVERY.value,
        small_face_search_every=_SMALL_FACE_SEARCH_EVERY.value,
        max_faces=_MAX_FACES.value,
        crop=_CROP.value,
        eyes=_EYES.value,
    )
    with runtime.one_line_errors():
        try:
            model = load_model(
                _CHECKPOINT.value,
                cnn_checkpoint=_CNN_CHECKPOINT.value,
                step=_STEP.value,
                batch_size=_BATCH_SIZE.value,
            )
        except runtime.ProjectError as error:
            if isinstance(error, ConfigError):  # A flag's value, not the checkpoint.
                raise
            raise type(error)(f"Cannot use --checkpoint: {error}") from error
        options = _framed(options, model)
        summary = predict_with(
            model, _INPUT.value, _OUTPUT.value, default_fps=_FPS.value, options=options
        )
    print("\n".join(summary.lines()), file=sys.stderr if summary.failed else sys.stdout)
    sys.exit(summary.exit_code)


def _framed(options: Options, model) -> Options:
    """`options` with --framing, or the model's training framing, where no flag overrides it."""
    training_data = tuple(model.training_data)
    name = _FRAMING.value or trained_framing(training_data)
    if name is None or options.cropped_faces:
        return options
    keep = frozenset(f for f in ("detector", "crop") if flags.FLAGS[f].present)
    framed = with_framing(options, name, keep=keep)
    margin = trained_face_margin(training_data)
    if margin is not None and not flags.FLAGS["face_margin"].present:
        framed = dataclasses.replace(framed, face_margin=margin)
    logging.info(
        "Faces framed as %s (%s): --detector=%s --crop=%s --face_margin=%g.",
        name,
        "--framing" if _FRAMING.value else "the framing the model was trained on",
        framed.detector,
        framed.crop,
        framed.face_margin,
    )
    return framed


def run() -> None:
    """Console-script entry point (affect-jax-predict)."""
    flags.mark_flags_as_required(["checkpoint", "input", "output"])
    app.run(main)


if __name__ == "__main__":
    run()
