"""Engines that turn a (molecule, method) into an energy: PySCF on CPU or GPU."""
