"""The reserve side's part in the pages people work in (its own pages come later)."""
