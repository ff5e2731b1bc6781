"""The storefront\x27s pages: the grid (grid.py), the hosted checkout (checkout.py) and the
temporary signed links (hosted.py)."""
