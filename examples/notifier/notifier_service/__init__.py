"""The notifier example: a welcome mail for every user the users example creates."""
