"""The embedded default: learnable synthetic faces written in raw dataset layouts (data layer).

`python -m affect_jax.synthetic --out=DIR --preset=quickstart` writes an
Aff-Wild2-shaped release that `python -m affect_jax.build --dataset=affwild2/va
--manual_dir=DIR` then builds like the real one.
"""

from affect_jax.synthetic.affwild2_layout import PRESETS, write_affwild2_layout
from affect_jax.synthetic.face_renderer import Identity, random_identity, render_face

__all__ = ["PRESETS", "Identity", "random_identity", "render_face", "write_affwild2_layout"]
