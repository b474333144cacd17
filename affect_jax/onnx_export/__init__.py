"""A trained run as ONNX graphs and a model.json (`python -m affect_jax.export`).

graph_builder.py writes nodes and weights, cnn_graph.py and rnn_graph.py turn a
run's parameters into its two graphs, export_run.py writes the folder that
inference/exported_model.py reads back.
"""
