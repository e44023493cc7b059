"""
seed.py — the seed's Keras example, ported to latefuse.

Only the imports changed: the seed's own WeightedAverage class is
latefuse.layers.WeightedAverage (same constructor, n_output = the number of
inputs), and tf.nn.softmax(...).numpy() is latefuse.nn.softmax(...).numpy()
(or simply latefuse.softmax(...)).  Run from the repository root after
`make`:  /usr/bin/python3 python/examples/seed.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import latefuse as tf  # noqa: E402  (tf.nn.softmax below is latefuse.nn.softmax)
from latefuse import Model  # noqa: E402
from latefuse.layers import Input, Dense, WeightedAverage  # noqa: E402

inp1 = Input((100,)); inp2 = Input((100,))
x1 = Dense(32, activation='relu')(inp1); x2 = Dense(32, activation='relu')(inp2)
W_Avg = WeightedAverage(n_output=2)([x1, x2])
out = Dense(1)(W_Avg)
m = Model([inp1, inp2], out); m.compile('adam', 'mse')
X1 = np.random.uniform(0,1,(1000,100)); X2 = np.random.uniform(0,1,(1000,100)); y = np.random.uniform(0,1,(1000,1))
m.fit([X1, X2], y, epochs=10)
print("weights:", *tf.nn.softmax(m.get_weights()[-3]).numpy().ravel())   # the learned fusion weights
