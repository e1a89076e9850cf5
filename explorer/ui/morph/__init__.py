"""The Morph tab: two endpoints and the frames between them."""
