"""The dashboard's screens: one per mode (pipeline, array, detail, failures, capacity, actions, modals)."""
