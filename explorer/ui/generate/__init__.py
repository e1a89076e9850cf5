"""The Generate tab: sample grid view, focus panel (nearest training images), projection."""
