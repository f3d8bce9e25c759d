"""mmnc's one error class for arguments upstream refuses with ``assert``."""


class ArgumentError(ValueError, AssertionError):
    """A bad argument, where upstream's code would ``assert``.

    mmdet's and mmseg's ResNets refuse a ``stages`` tuple of the wrong length
    or a position a block lacks with ``AssertionError``; mmnc checks the same
    earlier, with a message that names the fix. Code written against upstream
    (``pytest.raises(AssertionError)``) and code that expects a
    ``ValueError`` for a bad value both catch it.
    """
