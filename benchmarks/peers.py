"""The benchmark's CNN and GRU in TensorFlow (Keras) and PyTorch, when importable.

Neither is a dependency: install them in a separate environment next to the
project (see benchmarks/train_step.py). Each peer builds the same layers as the
project's reference CNN and 3-layer GRU, trains with SGD + momentum on random
inputs; each function returns two calls, one train step of each model, for
the benchmark to time in turns with the project's own steps. benchmarks/train_step.py
runs each peer in a process of its own (`peer_runs`, through process_runs.py), with
the C allocator its users get.
"""

import os

CNN_INPUT = (96, 96, 1)
GRU_WINDOW, GRU_FEATURES, GRU_SIZES = 100, 300, (100, 100, 50)


def tensorflow_steps(cnn_batch: int, gru_batch: int):
    """(CNN train step, GRU train step) in Keras on TensorFlow, or None.

    Keras' default CPU path (oneDNN kernels, jit_compile=False): on this
    project's CPU it is ~1.5x faster than the same model compiled with XLA.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
        import tensorflow  # noqa: F401  (Keras must run on the TensorFlow backend)
        from keras import layers
    except ImportError:
        return None
    import numpy as np

    if keras.backend.backend() != "tensorflow":
        return None
    keras.utils.set_random_seed(0)
    cnn = keras.Sequential(
        [
            keras.Input(CNN_INPUT),
            layers.BatchNormalization(),
            layers.Conv2D(64, 5, padding="same", use_bias=False, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(128, 5, use_bias=False, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(256, 5, use_bias=False, activation="relu"),
            layers.AveragePooling2D(9),
            layers.Flatten(),
            layers.Dense(300),
            layers.Dropout(0.5),
            layers.Dense(2),
        ]
    )
    gru = keras.Sequential(
        [keras.Input((GRU_WINDOW, GRU_FEATURES))]
        + [
            layers.GRU(size, return_sequences=i < len(GRU_SIZES) - 1)
            for i, size in enumerate(GRU_SIZES)
        ]
        + [layers.Dense(2)]
    )
    rng = np.random.default_rng(0)

    def train_step(model, inputs):
        model.compile(keras.optimizers.SGD(0.01, momentum=0.9), "mse", jit_compile=False)
        targets = rng.uniform(-1, 1, (len(inputs), 2)).astype(np.float32)
        return lambda: model.train_on_batch(inputs, targets)

    images = rng.uniform(0, 1, (cnn_batch, *CNN_INPUT)).astype(np.float32)
    sequences = rng.normal(size=(gru_batch, GRU_WINDOW, GRU_FEATURES)).astype(np.float32)
    return train_step(cnn, images), train_step(gru, sequences)


def torch_steps(cnn_batch: int, gru_batch: int):
    """(CNN train step, GRU train step) in PyTorch eager (channels_last), or None."""
    try:
        import torch
        from torch import nn
    except ImportError:
        return None
    torch.manual_seed(0)
    cnn = nn.Sequential(
        nn.BatchNorm2d(1, momentum=0.01, eps=1e-3),
        nn.Conv2d(1, 64, 5, padding=2, bias=False),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 5, bias=False),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(128, 256, 5, bias=False),
        nn.ReLU(),
        nn.AvgPool2d(9),
        nn.Flatten(),
        nn.Linear(1024, 300),
        nn.Dropout(0.5),
        nn.Linear(300, 2),
    ).to(memory_format=torch.channels_last)
    images = torch.rand(cnn_batch, 1, 96, 96).to(memory_format=torch.channels_last)

    class StackedGru(nn.Module):
        def __init__(self):
            super().__init__()
            sizes = (GRU_FEATURES, *GRU_SIZES)
            self.layers = nn.ModuleList(
                [nn.GRU(a, b, batch_first=True) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
            )
            self.head = nn.Linear(GRU_SIZES[-1], 2)

        def forward(self, x):
            for layer in self.layers:
                x, _ = layer(x)
            return self.head(x[:, -1])

    sequences = torch.randn(gru_batch, GRU_WINDOW, GRU_FEATURES)

    def train_step(model, inputs):
        targets = torch.rand(len(inputs), 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def run():
            optimizer.zero_grad()
            loss = ((model(inputs) - targets) ** 2).mean()
            loss.backward()
            optimizer.step()

        return run

    return train_step(cnn, images), train_step(StackedGru(), sequences)


def peer_runs(framework: str, cnn_batch: int, gru_batch: int) -> dict:
    """{"cnn": step, "gru": step} of "tensorflow" or "torch", or {} where not importable.

    The builder that benchmarks/process_runs.py calls in the peer's own process.
    """
    build = {"tensorflow": tensorflow_steps, "torch": torch_steps}[framework]
    steps = build(cnn_batch, gru_batch)
    return {} if steps is None else dict(zip(("cnn", "gru"), steps, strict=True))
