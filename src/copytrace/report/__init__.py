"""Views of the results for people: the terminal view here, the HTML report later."""
