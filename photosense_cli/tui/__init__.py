"""The terminal review app (`photosense people review`), a front end like the CLI: it
goes through the application layer only. Textual is imported when the app runs."""
