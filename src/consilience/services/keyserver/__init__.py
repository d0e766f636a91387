"""The key server: one Shamir share of the OPRF key, nothing else."""
