"""In-process caching of buffers, and where missing buffers are looked up."""
