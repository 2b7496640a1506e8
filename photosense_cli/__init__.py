"""photosense: find photos by who is in them and by the text in them."""

__version__ = "0.1.0"
