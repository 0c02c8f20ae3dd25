"""The coordinator: the one process of ``dlgrader grade`` that reads and writes the course."""
