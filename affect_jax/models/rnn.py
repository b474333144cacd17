"""Recurrent models over windows of per-frame CNN features.

The paper's temporal stage: SimpleRNN or GRU, one layer of 100 units or three
layers of 100/100/50, then Dense to valence and arousal. Each layer is a
`flax.linen.RNN`, which scans the cell over time with `nn.scan` (one compiled
loop body, not a Python loop). Flax's GRUCell applies the reset gate after the
hidden-state matmul, like Keras' default `reset_after=True`.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from affect_jax.models.wavefront import wavefront_scan
from affect_jax.runtime import ConfigError

CELLS = {"gru": nn.GRUCell, "simple_rnn": nn.SimpleCell}


class SequenceRegressor(nn.Module):
    """[batch, time, features] -> [batch, outputs] (last step) or per step.

    Attributes:
      cell: a key of CELLS.
      layer_sizes: hidden units of each stacked layer.
      num_outputs: output units (2 for valence and arousal).
      every_step: output at every time step instead of only the last one.
    """

    cell: str = "gru"
    layer_sizes: Sequence[int] = (100,)
    num_outputs: int = 2
    every_step: bool = False
    # All layers in one scan (models/wavefront.py): same numbers, ~1.17x faster
    # train step on CPU. Parameters are created layer by layer either way.
    wavefront: bool = True

    @nn.compact
    def __call__(self, inputs: jnp.ndarray, *, train: bool = False) -> jnp.ndarray:
        del train  # No dropout or normalization in the reference RNN.
        if self.cell not in CELLS:
            raise ConfigError(
                f"Unknown RNN cell {self.cell!r} (config key model.cell); valid: "
                f"{', '.join(CELLS)}."
            )
        x = inputs.astype(jnp.float32)
        if self.wavefront and not self.is_initializing():
            params = self.variables["params"]
            layers = [params[f"layer{i + 1}"] for i in range(len(self.layer_sizes))]
            x = wavefront_scan(self.cell, layers, x)
        else:
            for i, size in enumerate(self.layer_sizes):
                # The cell owns the parameters: layer1/{ir,iz,in,hr,hz,hn}, ...
                cell = CELLS[self.cell](features=size, name=f"layer{i + 1}")
                x = nn.RNN(cell)(x)
        if not self.every_step:
            x = x[:, -1]
        return nn.Dense(self.num_outputs, name="head")(x)
