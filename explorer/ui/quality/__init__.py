"""The Quality tab: a run's measured quality over its snapshots."""
