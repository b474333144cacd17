"""Writes `dummy_data/`: a hand-made raw JAFFE release of 10 subjects, 20 images.

Run once (the output is committed); rerunning rewrites the same files:

    python -m data_builders.jaffe.make_dummy_data

The images are synthetic (`affect_jax.synthetic.portrait_renderer`), 128x128
and noise-free to keep the fixture small; the builder does not care about the
size. Two images per subject, every expression code at least twice, and
every quirk the builder must handle once:

  AH.HA1.2.tiff     stored with three (identical) channels
  HN.SU1.6.tiff     shows no face                         -> skipped, reported
  KO.AN1.10.tiff    has no line in the ratings file       -> ratings -1
  README_FIRST.txt  text, then the ratings table, as in the release; one
                    rating is for a picture not in the folder (ignored)
"""

from pathlib import Path

import cv2
import numpy as np

from affect_jax.synthetic import expressions, jaffe_layout, portrait_renderer

DUMMY_DATA = Path(__file__).parent / "dummy_data"
SIZE = 128
NO_FACE_FILES = ["HN.SU1.6.tiff"]
UNRATED_FILES = ["KO.AN1.10.tiff"]
EXPECTED_EXAMPLES = 20 - len(NO_FACE_FILES)

_CODES = ("NE", "AN", "DI", "FE", "HA", "SA", "SU")


def main() -> None:
    DUMMY_DATA.mkdir(parents=True, exist_ok=True)
    for old in DUMMY_DATA.iterdir():
        old.unlink()
    header = "#  HAP  SAD  SUR  ANG  DIS  FEA  PIC"
    ratings = [header]
    number = 0
    for index, subject in enumerate(jaffe_layout.SUBJECTS):
        rng = np.random.default_rng(100 + index)
        identity = portrait_renderer.random_identity(rng, dark_hair=True)
        for code in (_CODES[index % 7], _CODES[(index + 4) % 7]):
            number += 1
            name = f"{subject}.{code}1.{number}.tiff"
            gray = portrait_renderer.render_portrait(
                identity,
                expressions.expression(jaffe_layout.CODES[code]),
                canvas_size=(SIZE, SIZE),
                centre=(SIZE / 2, 0.47 * SIZE),
                radius=0.22 * SIZE,
                rng=rng,
                noise_sd=0.0,
            )
            if name in NO_FACE_FILES:
                gray = np.full_like(gray, gray[0, 0])  # An empty chair.
            image = cv2.merge([gray, gray, gray]) if subject == "AH" and code == "HA" else gray
            ok, tiff = cv2.imencode(".tiff", image)
            assert ok
            (DUMMY_DATA / name).write_bytes(tiff.tobytes())
            if name not in UNRATED_FILES:
                values = [
                    4.5 if jaffe_layout.RATING_COLUMNS[column] == code else 1.5 + 0.1 * k
                    for k, column in enumerate(jaffe_layout.RATING_COLUMNS)
                ]
                row = "  ".join(f"{v:.2f}" for v in values)
                ratings.append(f"{len(ratings)}  {row}  {subject}-{code}1")
    ratings.append(f"{len(ratings)}  1.00  1.00  1.00  1.00  1.00  5.00  YH-FE3")
    text = ["Synthetic JAFFE fixture: no real person.", "", "Semantic ratings:", *ratings]
    (DUMMY_DATA / "README_FIRST.txt").write_text("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
