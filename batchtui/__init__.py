"""batchtui: a terminal dashboard for AWS Batch array pipelines."""

__version__ = "0.1.0"
