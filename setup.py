"""affect-jax: facial emotion recognition from video in JAX/Flax."""

import sys
from pathlib import Path

import setuptools
from setuptools.command.build_ext import build_ext

sys.path.insert(0, str(Path(__file__).resolve().parent))  # build_meta does not add it.
import build_onednn  # noqa: E402


class BuildOptionalOnednn(build_ext):
    """build_ext that compiles the handlers with g++ and never fails the install."""

    def build_extensions(self) -> None:
        built = []
        for ext in self.extensions:
            if ext.name != build_onednn.NAME:
                self.build_extension(ext)
                built.append(ext)
                continue
            if build_onednn.build_or_say_why(self.get_ext_fullpath(ext.name)):
                built.append(ext)
        # Only what was built is copied into place (editable installs) and listed.
        self.extensions = built


# Ranges that install together with no conflicts (see shared docs, STACK.md),
# each up to the newest release the whole suite passed on: Python 3.11 resolves
# jax 0.10 (jax 0.11 and later need 3.12), Python 3.12 and 3.13 jax 0.12.
# launch/test_newest.sh runs the suite on the newest.
INSTALL_REQUIRES = [
    "jax>=0.10,<0.13",
    "jaxlib>=0.10,<0.13",
    "flax>=0.12,<0.13",
    "optax>=0.2,<0.3",
    "orbax-checkpoint>=0.12,<0.13",
    "tensorflow-datasets>=4.9,<4.10",
    "grain>=0.2,<0.3",
    "array-record>=0.8,<0.9",
    "ml-collections>=1.1,<1.2",
    "absl-py>=2,<3",
    "numpy>=2,<3",
    # 5.x has no cv2.CascadeClassifier and ships no Haar cascades.
    "opencv-python-headless>=4.9,<5",
    # tfds needs it for builders in package folders but does not declare it.
    "importlib_resources>=6",
    # TensorBoard event files without TensorFlow.
    "tensorboardX>=2.6,<3",
    "matplotlib>=3.8,<4",
    # dlib's HOG face detector, built into the wheel (no model file to fetch).
    "dlib-bin>=19.24",
    # Reads the authors' Keras 2 HDF5 checkpoints (affect_jax.import_keras).
    "h5py>=3.10,<4",
    # libdnnl.so.3 for the optional oneDNN convolutions (config.model.conv_backend).
    build_onednn.RUNTIME_REQUIREMENT,
]

EXPORT_REQUIRES = ["onnx>=1.16,<2", "onnxruntime>=1.17,<2"]
EXTRAS_REQUIRE = {
    "cuda12": ["jax[cuda12]>=0.10,<0.13"],
    "cuda13": ["jax[cuda13]>=0.10,<0.13"],
    # The notebook test executes notebooks/ headless; import-linter checks the layers;
    # pytest-xdist runs the suite in two processes (launch/test.sh).
    "test": [
        "pytest>=8",
        "pytest-timeout>=2.3",
        "pytest-xdist>=3.5",
        "nbclient>=0.10",
        "ipykernel>=6",
        "nbformat>=5",
        "import-linter>=2.1,<3",
        *EXPORT_REQUIRES,
    ],
    # dlib's 5-point landmark model (9 MB, in a 100 MB source package) for eye alignment.
    "align": ["face-recognition-models>=0.3"],
    "notebook": ["nbclient>=0.10", "ipykernel>=6", "nbformat>=5"],
    # python -m affect_jax.export, and predict on an exported folder (without JAX).
    "export": EXPORT_REQUIRES,
}

# Every folder is a package, data-only ones too (the builders' dummy_data, the
# oneDNN sources): setuptools warns about data in a folder it was not told of.
PACKAGES = setuptools.find_namespace_packages(
    include=["affect_jax*", "data_builders*"], exclude=["*__pycache__*"]
)
PACKAGE_DATA = {
    "data_builders": ["*/CITATIONS.bib"],  # TFDS reads them.
    **{package: ["*"] for package in PACKAGES if ".dummy_data" in package},
}

setuptools.setup(
    name="affect-jax",
    version="0.1.0",
    description="CNN + GRU valence-arousal and expression recognition in JAX/Flax",
    python_requires=">=3.11",  # jax 0.10 needs 3.11; jaxlib for 3.10 stopped at 0.6.
    packages=PACKAGES,
    # Editable installs as one .pth to the repository root: setuptools' import
    # finder for other layouts announces itself with a warning at every install.
    package_dir={"": "."},
    package_data=PACKAGE_DATA,
    install_requires=INSTALL_REQUIRES,
    # Optional: a failed build prints one line and the install goes on (build_onednn.py).
    ext_modules=[setuptools.Extension(build_onednn.NAME, [build_onednn.SOURCE], language="c++")],
    cmdclass={"build_ext": BuildOptionalOnednn},
    extras_require=EXTRAS_REQUIRE,
    entry_points={
        "console_scripts": [
            "affect-jax-train=affect_jax.main:run",
            "affect-jax-build=affect_jax.build:run",
            "affect-jax-predict=affect_jax.predict:run",
            "affect-jax-import-keras=affect_jax.import_keras:run",
            "affect-jax-export=affect_jax.export:run",
        ],
    },
)
