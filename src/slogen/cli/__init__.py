"""The command line: parse options, call the stages, render results, choose the exit code."""
