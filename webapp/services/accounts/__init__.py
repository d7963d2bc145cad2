"""Users: accounts and passwords (users.py), browser logins kept on the server (login_sessions.py)."""
