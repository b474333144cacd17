"""The Keras layers in float64 NumPy, written from Keras' own equations.

The expected outputs of the Keras import tests; they share no code with the
project's models.
"""

import numpy as np


def np_conv(x, kernel, padding):
    """TF conv2d (cross-correlation), stride 1, SAME puts the odd pixel after."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        pads = [((k - 1) // 2, (k - 1) - (k - 1) // 2) for k in (kh, kw)]
        x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    height, width = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], height, width, kernel.shape[-1]))
    for i in range(kh):
        for j in range(kw):
            out += x[:, i : i + height, j : j + width, :] @ kernel[i, j]
    return out


def np_pool(x, size, reduce):
    """VALID pooling with window = stride = size."""
    rows, cols = (x.shape[1] - size) // size + 1, (x.shape[2] - size) // size + 1
    out = np.empty((x.shape[0], rows, cols, x.shape[3]))
    for r in range(rows):
        for c in range(cols):
            out[:, r, c] = reduce(
                x[:, r * size : (r + 1) * size, c * size : (c + 1) * size], axis=(1, 2)
            )
    return out


def np_cnn(pixels, arrays, paddings, feature_activation, avg_pool, epsilon=1e-3):
    x = pixels.astype(np.float64) / 255.0
    x = (x - arrays["mean"]) / np.sqrt(arrays["var"] + epsilon) * arrays["gamma"] + arrays["beta"]
    for i, padding in enumerate(paddings):
        x = np.maximum(np_conv(x, arrays[f"conv{i + 1}"], padding), 0)
        x = np_pool(x, 2, np.max) if i < 2 else np_pool(x, avg_pool, np.mean)
    x = x.reshape(x.shape[0], -1)  # Keras Flatten, channels_last: H, W, C order.
    features = x @ arrays["dense"][0] + arrays["dense"][1]
    if feature_activation == "relu":
        features = np.maximum(features, 0)
    return features @ arrays["dense_1"][0] + arrays["dense_1"][1], features


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_rnn(x, arrays, head, cell, every):
    """Keras GRU (reset_after=True) or SimpleRNN stack, then Dense."""
    x = x.astype(np.float64)
    for kernel, recurrent, bias in arrays:
        units = recurrent.shape[0]
        h, steps = np.zeros((x.shape[0], units)), []
        for t in range(x.shape[1]):
            if cell == "GRU":
                xz, xr, xh = np.split(x[:, t] @ kernel + bias[0], 3, axis=-1)
                hz, hr, hh = np.split(h @ recurrent + bias[1], 3, axis=-1)
                z, r = sigmoid(xz + hz), sigmoid(xr + hr)
                h = z * h + (1 - z) * np.tanh(xh + r * hh)
            else:
                h = np.tanh(x[:, t] @ kernel + bias + h @ recurrent)
            steps.append(h)
        x = np.stack(steps, axis=1)
    return (x if every else x[:, -1]) @ head[0] + head[1]
