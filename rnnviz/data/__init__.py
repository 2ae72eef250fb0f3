"""The data: where each dataset comes from, the datasets as tensors on a device, and MNIST's
preprocessing of any picture."""
