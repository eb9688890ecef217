"""One module per upstream, all of the same shape: NAME, build_params, parse_page, and a thin client class."""
