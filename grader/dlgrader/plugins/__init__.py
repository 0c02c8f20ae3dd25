"""nbgrader plugins: what nbgrader loads by configuration (preprocessors, kernel manager)."""
