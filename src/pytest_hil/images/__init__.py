"""Getting images onto storage: decompression while streaming, bmap files, zero skipping, verification."""

from pytest_hil.errors import ImageError
from pytest_hil.images.bmap import Bmap, read_bmap
from pytest_hil.images.formats import open_image
from pytest_hil.images.writer import WriteReport, write_image

__all__ = ["Bmap", "ImageError", "WriteReport", "open_image", "read_bmap", "write_image"]
