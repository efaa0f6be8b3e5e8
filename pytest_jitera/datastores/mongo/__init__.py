"""MongoDB (the official image, or FerretDB as its wire-compatible stand-in)."""
