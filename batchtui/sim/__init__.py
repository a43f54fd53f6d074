"""The AWS Batch simulator: a pure engine behind an aiohttp server speaking restJson1."""
