"""Reading the pages the tests get back."""


def text(response) -> str:
    """The page as text, to look for what a person would read in it."""
    return response.content.decode()
