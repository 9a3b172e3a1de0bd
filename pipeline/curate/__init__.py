"""`ilid curate`: drop duplicate images, near-duplicates, placeholders, thumbnails and odd aspects."""
