"""Training machinery: steps, checkpoints, sharding, metric writer, progress.

checkpoints.py is also the one way to find and restore a run (extraction,
prediction, fine-tuning); init_from.py starts a run from another's parameters
(`config.init_from`) and imported_runs.py writes Keras checkpoints as run folders.

May import data/, models/, tasks/ and below; never stages/ or inference/.
"""
