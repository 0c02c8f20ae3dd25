"""What runs in (or starts) a student's kernel: the launcher and the kernel's test guard.

Both are standard-library only: the launcher runs as a script (``python -S``) before the
kernel exists, and the guard is copied into the kernel's profile as a start-up file.
"""
