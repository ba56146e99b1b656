"""Files the package ships: MIT-BIH checksums, the trained models and the stored results."""
