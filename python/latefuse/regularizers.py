"""
regularizers.py — Keras' l2 regularizer, for kernels and embedding tables
(lf_set_l2) and biases (lf_set_bias_l2).

Dense(..., kernel_regularizer=l2(0.01)) adds 0.01 * sum(kernel**2) to the
training loss, as in Keras; bias_regularizer=l2(0.01) adds 0.01 *
sum(bias**2), Embedding's embeddings_regularizer=l2(0.01) 0.01 *
sum(embeddings**2).
"""
__all__ = ["L2", "l2"]


class L2:
    def __init__(self, l2=0.01):
        l2 = float(l2)
        if not l2 >= 0.0:
            raise ValueError("l2 must be >= 0, got %r" % (l2,))
        self.l2 = l2
        self.l1 = 0.0

    def get_config(self):
        return {"l2": self.l2}

    def __repr__(self):
        return "L2(l2=%r)" % self.l2


def l2(l2=0.01):
    return L2(l2)


def get(identifier):
    """An L2 from an L2 object or Keras' {'class_name': 'L2', 'config': {'l2': x}}; None stays None."""
    if identifier is None or isinstance(identifier, L2):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in ("L2", "l2"):
        return L2(**identifier.get("config", {}))
    return identifier
