"""
preprocessing — Keras' keras.preprocessing namespace, for the scripts that
reach its helpers there: preprocessing.sequence.pad_sequences (the same
function as latefuse.utils.pad_sequences).  Keras' preprocessing layers are
in latefuse.layers.
"""
from . import sequence

__all__ = ["sequence"]
