"""Datasets: IDX files, MNIST / Fashion-MNIST, and generated data."""
