"""The dashboard's widgets, each rendering a part of a Snapshot."""
