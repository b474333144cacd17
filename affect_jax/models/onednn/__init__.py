"""2-D convolutions through oneDNN's CPU primitives, as XLA FFI custom calls.

`csrc/conv.cc` holds the handlers; setup.py compiles them into `_conv*.so`
when the oneDNN wheels and a C++ compiler are there (README, "Speed knobs").
`library` loads that file, `conv` wraps it as a `jax.custom_vjp` convolution.
"""
