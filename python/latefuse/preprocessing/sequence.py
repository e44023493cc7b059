"""
sequence.py — keras.preprocessing.sequence: pad_sequences, so
`keras.preprocessing.sequence.pad_sequences(x, maxlen=200)` ports by its
import (latefuse.utils.pad_sequences is the function).
"""
from ..utils import pad_sequences

__all__ = ["pad_sequences"]
