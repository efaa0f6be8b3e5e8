"""Charts: opening archives and folders safely, and diffing two charts."""
