"""Leaf-by-leaf comparison of parameter trees, for the equivalence tests."""

import jax
import numpy as np


def assert_trees_equal(actual, expected, rtol: float = 0.0, atol: float = 0.0) -> None:
    """Same structure, and per leaf the same shape, dtype and values (within rtol/atol).

    A sum or a norm over the tree would let one SGD step, or a wrong leaf that
    another one offsets, pass unseen; each leaf is checked, and named on failure.
    """
    actual_leaves = jax.tree_util.tree_leaves_with_path(actual)
    expected_leaves = jax.tree_util.tree_leaves_with_path(expected)
    assert [p for p, _ in actual_leaves] == [p for p, _ in expected_leaves], "tree structure"
    for (path, got), (_, want) in zip(actual_leaves, expected_leaves, strict=True):
        name = jax.tree_util.keystr(path)
        got, want = np.asarray(got), np.asarray(want)
        assert (got.shape, got.dtype) == (want.shape, want.dtype), name
        if rtol == atol == 0.0:
            np.testing.assert_array_equal(got, want, err_msg=name)
        else:
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)
