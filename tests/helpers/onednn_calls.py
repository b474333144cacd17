"""Which oneDNN handlers a computation calls: read from its lowered StableHLO text,
so a silent fall-back to XLA's convolutions shows."""

from affect_jax.models.onednn import library


def onednn_calls(lowered) -> set[str]:
    """The names (library.TARGETS keys) of the oneDNN custom calls in `jit(f).lower(...)`."""
    text = lowered.as_text()
    return {kind for kind, target in library.TARGETS.items() if f"@{target}" in text}
