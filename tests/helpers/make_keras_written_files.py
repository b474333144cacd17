"""Writes tests/fixtures/keras_written/: a small CNN and GRU saved by Keras itself.

Run once, by hand, in a throwaway virtual environment with TensorFlow and
tf-keras (Keras 2, the authors' format), never in CI:

    python3.11 -m venv /tmp/tfk && /tmp/tfk/bin/pip install tensorflow-cpu tf-keras h5py
    TF_USE_LEGACY_KERAS=1 /tmp/tfk/bin/python tests/helpers/make_keras_written_files.py \
        tests/fixtures/keras_written

The models have the reference CNN's layers (narrower) and a 3-layer GRU, with
random non-zero weights, BatchNorm statistics and recurrent biases, so that
the import must place every array right. reference.npz holds fixed inputs and
what Keras itself computed for them (tests/training/test_keras_written_files.py).
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

FEATURE_DIM, WINDOW = 6, 4


def _randomized(model, rng):
    """Every weight drawn anew (zeros at init would hide a misplaced bias)."""
    for layer in model.layers:
        layer.set_weights(
            [rng.normal(0, 0.4, w.shape).astype("float32") for w in layer.get_weights()]
        )


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    cnn = keras.Sequential(
        [
            keras.layers.BatchNormalization(input_shape=(96, 96, 1), momentum=0.99, epsilon=1e-3),
            keras.layers.Conv2D(4, 5, padding="same", use_bias=False, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(8, 5, padding="valid", use_bias=False, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(8, 5, padding="valid", use_bias=False, activation="relu"),
            keras.layers.AveragePooling2D(9),
            keras.layers.Flatten(),
            keras.layers.Dense(FEATURE_DIM),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(2),
        ]
    )
    _randomized(cnn, rng)
    norm = cnn.layers[0]  # gamma, beta, moving mean, moving variance (> 0, small).
    norm.set_weights([np.array([1.3]), np.array([-0.2]), np.array([0.45]), np.array([0.03])])
    cnn.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    cnn.save(out / "cnn.h5", save_format="h5")

    gru = keras.Sequential(
        [
            keras.layers.GRU(5, return_sequences=True, input_shape=(WINDOW, FEATURE_DIM)),
            keras.layers.GRU(6, return_sequences=True),
            keras.layers.GRU(3),
            keras.layers.Dense(2),
        ]
    )
    _randomized(gru, rng)
    gru.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    gru.save(out / "gru.h5", save_format="h5")

    crops = rng.integers(0, 256, (3, 96, 96, 1)).astype(np.uint8)
    pixels = crops.astype("float32") / 255.0  # The authors scale before the model.
    features = keras.Model(cnn.inputs, cnn.layers[8].output)
    windows = rng.normal(0, 1, (2, WINDOW, FEATURE_DIM)).astype("float32")
    np.savez(
        out / "reference.npz",
        crops=crops,
        cnn_outputs=cnn.predict(pixels, verbose=0),
        features=features.predict(pixels, verbose=0),
        windows=windows,
        gru_outputs=gru.predict(windows, verbose=0),
    )
    versions = {"tensorflow": tf.__version__, "tf_keras": keras.__version__}
    (out / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
