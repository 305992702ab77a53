"""Offline multi-kernel runner for ovlab: Debian kernels under QEMU, results back as JSON."""
