"""Training machinery: steps, checkpoints, sharding, metric writer, progress.

run.py is a run's home: the run folder's layout (the only place its names are
spelled), finding and restoring checkpoints (extraction, prediction,
fine-tuning) and an RNN's CNN; checkpoints.py is the Orbax layer beneath it
(saving, restoring, resume.py setting damaged steps aside); init_from.py starts
a run from another's parameters (`config.init_from`), trained here or
imported from Keras (keras_import/).

May import data/, models/, tasks/ and below; never stages/ or inference/.
"""
