"""The paper authors' Keras 2 checkpoints as runs of this project, without TensorFlow.

In reading order: layers.py reads a file's layer list one layer at a time;
architecture.py checks the whole list against our FrameCNN or
SequenceRegressor; hdf5.py reads the file (model_config and weights) and
mapping.py maps its arrays onto our parameter trees; runs.py writes the result
as a run folder (predict, extract and `config.init_from` then take it like any
run). The command line is affect_jax/import_keras.py.

May import training/, models/ and below; nothing but the command line imports it.
"""
