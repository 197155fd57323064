"""The op database (in the spirit of PyTorch's OpInfo) and the differential sweep against PyTorch."""
