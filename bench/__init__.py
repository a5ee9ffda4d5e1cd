"""Benchmarks (`make bench`): each bench_<name>.py has run() -> list of figure rows; results go to bench/results/."""
