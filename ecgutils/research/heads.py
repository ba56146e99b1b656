"""A network's trunk and head: where adaptation and adversarial training take it apart.

The compact CNN (:func:`ecgutils.models.compact_cnn`) ends in two dense layers: the *head*. What
comes before (the convolutional blocks, the pooled image features beside the RR features) is its
*trunk*. :mod:`ecgutils.research.transfer` fine-tunes the head alone on a new record's beats;
:mod:`ecgutils.research.adversarial` puts a patient critic on the trunk's output.
"""

from __future__ import annotations

from ..backend import import_keras


def split_head(member) -> tuple:
    """(trunk, head) of one network: ``trunk`` maps its inputs to the input of its second-to-last
    dense layer (the compact CNN's pooled image features beside its RR features), ``head`` maps
    that to the class probabilities with the network's own layers (shared, not copied)."""
    keras = import_keras()
    dense = [m for m in member.layers if isinstance(m, keras.layers.Dense)]
    if len(dense) < 2:
        raise ValueError(f"{member.name} has fewer than two dense layers: no head to fine-tune.")
    first = member.layers.index(dense[-2])
    trunk = keras.Model(member.inputs, dense[-2].input, name=f"{member.name}_trunk")
    x = inp = keras.Input(tuple(dense[-2].input.shape[1:]))
    for layer in member.layers[first:]:
        x = layer(x)
    return trunk, keras.Model(inp, x, name=f"{member.name}_head")


def members(model) -> list:
    """The networks an ensemble averages (:func:`ecgutils.train.train_model`), or ``[model]``."""
    keras = import_keras()
    inner = [m for m in model.layers if isinstance(m, keras.Model)]
    return inner or [model]
