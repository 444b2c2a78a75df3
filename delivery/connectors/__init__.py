"""Network connectors: fetch posts by the watch rules' terms into the pipeline, and reply in place (`base.py`)."""
