"""The quickstart's last lines say what its numbers are and where to look next."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMAND = 'python -c "from affect_jax.stages.quickstart_summary import main; main()" "$run_dir"'


def test_the_quickstart_ends_with_what_its_numbers_are_and_where_to_look(tmp_path):
    assert (REPO / "launch" / "quickstart.sh").read_text().rstrip().endswith(COMMAND)
    run = tmp_path / "runs"
    (run / "cnn").mkdir(parents=True)
    (run / "gru").mkdir()
    (run / "cnn" / "results.json").write_text(json.dumps({"ccc_valence": 0.61, "ccc_arousal": 0.5}))
    (run / "gru" / "results.json").write_text(
        json.dumps({"frame_ccc_valence": 0.7, "frame_ccc_arousal": 0.654321})
    )
    raw = run / "raw_affwild2"
    for video in ("video9", "video4"):
        (raw / "annotations" / "VA_Set" / "Validation_Set").mkdir(parents=True, exist_ok=True)
        (raw / "annotations" / "VA_Set" / "Validation_Set" / f"{video}.txt").write_text("v,a\n")
    code = COMMAND.split('"')[1]
    result = subprocess.run(
        [sys.executable, "-c", code, str(run)], capture_output=True, text=True, check=True
    )
    text = result.stdout
    assert "held-out SYNTHETIC people" in text and "mean nothing for real people" in text
    assert "CNN alone, every frame : 0.610 / 0.500" in text
    assert "CNN + GRU, every frame : 0.700 / 0.654" in text
    assert f"tensorboard --logdir {run}" in text
    assert f"{run}/cnn/plots" in text
    # The first validation video by name, as the predict command line takes it.
    assert (
        f"python -m affect_jax.predict --checkpoint={run}/gru "
        f"--input={raw}/cropped_aligned/video4 --cropped_faces" in text
    )
    assert "paper's trained models" in text
