"""One submission's grading job: prepared by the executor, run in a child of the fork server."""
