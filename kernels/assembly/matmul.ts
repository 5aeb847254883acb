// (kernels to be written)
