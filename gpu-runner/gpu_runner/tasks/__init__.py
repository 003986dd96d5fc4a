"""Built-in tasks: data the whole curriculum can run on with no download."""
