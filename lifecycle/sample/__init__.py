"""The synthetic journey generator behind the demo, the benchmarks and the tests."""
