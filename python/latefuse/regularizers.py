"""
regularizers.py — Keras' l2 kernel regularizer (lf_set_l2).

Dense(..., kernel_regularizer=l2(0.01)) adds 0.01 * sum(kernel**2) to the
training loss, as in Keras.
"""
__all__ = ["L2", "l2"]


class L2:
    def __init__(self, l2=0.01):
        l2 = float(l2)
        if not l2 >= 0.0:
            raise ValueError("l2 must be >= 0, got %r" % (l2,))
        self.l2 = l2
        self.l1 = 0.0

    def __repr__(self):
        return "L2(l2=%r)" % self.l2


def l2(l2=0.01):
    return L2(l2)
