"""``hoso bench``: throughput, latency and memory of each stage, each measured beside its ceiling in one run.

Shared machines are noisy, so a figure alone says little; every scenario therefore measures its own
baseline (a bare loop doing the least the stage must do) in the same run and reports the ratio. One module
per scenario; ``runner`` selects and runs them, ``report`` writes the Markdown report and its chart.
"""
