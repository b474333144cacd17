"""Writes `dummy_data/`: a hand-made CK+48-style flat layout of 6 subjects, 8 class folders.

Run once (the output is committed); rerunning rewrites the same files:

    python -m data_builders.face_folders.make_dummy_data

The faces are synthetic (`affect_jax.synthetic.face_folders_layout`), 48x48
face crops named by subject (`S010_001_00000017.png`), one per subject and
class, so the fixture stays small. Every quirk the builder must handle is
here once:

  Angry/, FEAR/, Neutral/   other spellings and cases of the CK+ names
  sad/, surprised/          FER2013's spellings
  happy/ first image        stored as colour (3-channel)
  disgust/ BROKEN_FILE      a .png that does not decode      -> skipped, reported
  Angry/.DS_Store, notes.txt not images                      -> left out, listed
"""

import shutil
from pathlib import Path

import cv2

from affect_jax.synthetic import face_folders_layout
from affect_jax.tasks.labels import CK_PLUS_EMOTIONS

DUMMY_DATA = Path(__file__).parent / "dummy_data"
SUBJECT_REGEX = r"S\d{3}"
FOLDER_NAMES = {
    "anger": "Angry",
    "fear": "FEAR",
    "neutral": "Neutral",
    "sadness": "sad",
    "surprise": "surprised",
}
BROKEN_FILE = "disgust/S063_002_00000018.png"  # Subject S063 has good images too.
IGNORED_FILES = ["Angry/.DS_Store", "happy/notes.txt"]
NUM_SUBJECTS = 6
# What a correct build yields: one image per subject and class, less the broken one.
EXPECTED_EXAMPLES = NUM_SUBJECTS * len(CK_PLUS_EMOTIONS)


def main() -> None:
    shutil.rmtree(DUMMY_DATA, ignore_errors=True)
    summary = face_folders_layout.write_face_folders_layout(
        DUMMY_DATA,
        subjects=NUM_SUBJECTS,
        images_per_class=1,
        folder_names=FOLDER_NAMES,
        image_size=48,
        seed=7,
    )
    (DUMMY_DATA / face_folders_layout.MARKER_FILENAME).unlink()
    assert any(i["subject"] == BROKEN_FILE.split("/")[1][:4] for i in summary["images"])
    first_happy = next(i["path"] for i in summary["images"] if i["path"].startswith("happy/"))
    gray = cv2.imread(str(DUMMY_DATA / first_happy), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(DUMMY_DATA / first_happy), cv2.merge([gray, gray, gray]))
    # A download cut short: the PNG signature, then nothing.
    (DUMMY_DATA / BROKEN_FILE).write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (DUMMY_DATA / "Angry" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (DUMMY_DATA / "happy" / "notes.txt").write_text("Synthetic faces: no real person.\n")


if __name__ == "__main__":
    main()
