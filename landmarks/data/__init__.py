"""Data: annotation readers (``formats/``), synthetic renderers, cropping, transforms, datamodule."""
