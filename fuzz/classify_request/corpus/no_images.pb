
mnist-bnn-tfc