"""The research harness: rules judged against synthetic ground truth, apart from the product (DESIGN rule 9)."""
