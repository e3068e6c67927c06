"""Task heads. Each head is built from the backbone's ``channels`` / ``strides`` at run time.

To add a head: a new ``nn.Module`` taking ``in_channels: list[int], in_strides: list[int]``
plus its own keyword arguments, and a ``conf/head/*.yaml`` naming it with ``_partial_: true``.
The contract test in ``tests/heads/test_heads.py`` discovers every head config.
"""
