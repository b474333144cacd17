"""Writes synthetic expression photographs as class folders, the layout most datasets export to.

The output is what the `face_folders` builder reads, in either form:

    root/<class>/<image>.png                  flat (CK+48, KDEF-style exports)
    root/<split>/<class>/<image>.png          with split folders (FER2013: train/, test/)

Image names carry the person CK+48-style (`S010_004_00000017.png`: subject,
sequence, frame) or are a running number (`00017.png`, FER2013-style, no
subject). `cropped` draws the face filling the frame, as FER2013 and CK+48
store it (the builder's `cropped` config); otherwise a head-and-shoulders
portrait on a background, for the `detect` config to find the face in. Every
subject is a new synthetic person (`portrait_renderer`), so a split by subject
tests on people never seen in training.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from affect_jax.synthetic import expressions, output_folder, portrait_renderer
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS

MARKER_FILENAME = "SYNTHETIC_FACE_FOLDERS.json"
# The expression drawn at full strength needs at least this many pixels to
# keep its cues; smaller images are drawn at this size and shrunk.
_MIN_RENDER_SIZE = 96

PRESETS: dict[str, dict] = {
    # CK+48-like: 48x48 face crops named by subject, seven expressions.
    "quickstart": dict(
        subjects=40, images_per_class=3, classes=CK_PLUS_EMOTIONS[1:], image_size=48
    ),
    # For tests: a few people, four well separated expressions.
    "tiny": dict(
        subjects=8,
        images_per_class=2,
        classes=("neutral", "happy", "sadness", "surprise"),
        image_size=48,
    ),
}


def render_expression_image(
    identity: portrait_renderer.PortraitIdentity,
    label: str,
    *,
    image_size: int,
    cropped: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """One uint8 (image_size, image_size) gray photograph of `identity` posing `label`.

    Args:
      identity: the person.
      label: a CK+ expression name (neutral is intensity 0, the others 0.75-1).
      image_size: side of the square image in pixels.
      cropped: the face fills the frame (a face crop), else a portrait with
        background around a smaller face.
      rng: draws the pose, the intensity and the pixel noise.
    """
    size = max(image_size, _MIN_RENDER_SIZE) if cropped else image_size
    intensity = 0.0 if label == "neutral" else float(rng.uniform(0.75, 1.0))
    shift = rng.normal(0.0, 0.015 * size, size=2)
    radius = size * (0.34 if cropped else 0.2) * rng.uniform(0.95, 1.05)
    gray = portrait_renderer.render_portrait(
        identity,
        expressions.expression(label, intensity),
        canvas_size=(size, size),
        centre=(size / 2 + shift[0], (0.5 if cropped else 0.46) * size + shift[1]),
        radius=radius,
        rng=rng,
        noise_sd=1.5,
    )
    if size != image_size:  # INTER_AREA averages: no aliasing when shrinking.
        gray = cv2.resize(gray, (image_size, image_size), interpolation=cv2.INTER_AREA)
    return gray


def _image_name(subject_number: int, index: int, with_subject: bool, counter: int) -> str:
    if with_subject:  # CK+48: S010_004_00000017.png.
        return f"S{subject_number:03d}_{index + 1:03d}_{index + 17:08d}.png"
    return f"{counter:05d}.png"


def write_face_folders_layout(
    root: Path,
    *,
    subjects: int | Mapping[str, int] = 8,
    images_per_class: int = 2,
    classes: Sequence[str] = CK_PLUS_EMOTIONS,
    folder_names: Mapping[str, str] | None = None,
    image_size: int = 48,
    cropped: bool = True,
    subject_names: bool = True,
    seed: int = 0,
) -> dict:
    """Writes a synthetic class-folder dataset under `root`.

    Args:
      root: output folder; created if needed. It must be empty or an earlier
        output of this function (which is then replaced).
      subjects: people in a flat layout, or {split folder name: people} for
        one folder per split (each split its own people), e.g.
        {"train": 6, "val": 2, "test": 2}.
      images_per_class: images of each person posing each class.
      classes: CK+ expression names to pose, one class folder each.
      folder_names: {CK+ name: folder name} to write other spellings
        (e.g. {"anger": "Angry"}); default the CK+ names.
      image_size: side of the square images.
      cropped: face crops (True) or portraits with background (False).
      subject_names: CK+48-style names with the subject (True) or running
        numbers (False).
      seed: everything written is a deterministic function of the arguments.

    Returns:
      A summary, also written to `MARKER_FILENAME`: per image its path
      relative to `root`, split folder (None if flat), CK+ code and subject.
    """
    unknown = sorted(set(classes) - set(CK_PLUS_EMOTIONS))
    if unknown:
        raise ValueError(f"Unknown classes {unknown}; use names of {CK_PLUS_EMOTIONS}.")
    folder_names = {name: (folder_names or {}).get(name, name) for name in classes}
    per_split = {None: subjects} if isinstance(subjects, int) else dict(subjects)
    root = Path(root)
    owned = [f"{split}" for split in per_split if split] or list(folder_names.values())
    output_folder.prepare(root, MARKER_FILENAME, owned, "class-folder")
    arguments = dict(
        subjects=subjects if isinstance(subjects, int) else dict(subjects),
        images_per_class=images_per_class,
        classes=list(classes),
        folder_names=folder_names,
        image_size=image_size,
        cropped=cropped,
        subject_names=subject_names,
        seed=seed,
    )
    marker = root / MARKER_FILENAME
    marker.write_text(json.dumps(dict(complete=False, arguments=arguments)))

    start = time.monotonic()
    # Another stream than the synthetic CK+ and JAFFE of the same seed: other people.
    root_seed = np.random.SeedSequence([seed, 0xF01D])
    total_subjects = sum(per_split.values())
    numbers = np.sort(
        np.random.default_rng(root_seed.spawn(1)[0]).choice(
            np.arange(10, 1000), total_subjects, replace=False
        )
    )
    people = iter(zip(numbers, root_seed.spawn(total_subjects), strict=True))
    images, counter = [], 0
    for split, count in per_split.items():
        base = root / split if split else root
        for folder in folder_names.values():
            (base / folder).mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            number, subject_seed = next(people)
            rng = np.random.default_rng(subject_seed)
            identity = portrait_renderer.random_identity(rng)
            for label in classes:
                for index in range(images_per_class):
                    counter += 1
                    gray = render_expression_image(
                        identity, label, image_size=image_size, cropped=cropped, rng=rng
                    )
                    name = _image_name(int(number), index, subject_names, counter)
                    path = base / folder_names[label] / name
                    ok, png = cv2.imencode(".png", gray)
                    assert ok, "OpenCV could not encode a PNG"
                    path.write_bytes(png.tobytes())
                    images.append(
                        dict(
                            path=str(path.relative_to(root)),
                            split=split,
                            label=CK_PLUS_EMOTIONS.index(label),
                            subject=f"S{int(number):03d}",
                        )
                    )
    summary = dict(
        root=str(root),
        arguments=arguments,
        images=images,
        seconds=round(time.monotonic() - start, 2),
    )
    marker.write_text(json.dumps(dict(complete=True, **summary), indent=1))
    return summary
