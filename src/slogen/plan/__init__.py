"""Plan and apply: a pure diff of desired against live resources, and its execution."""
