"""Loading runs into the predictions table and scoring them."""
